package lower

import (
	"errors"
	"fmt"
)

// ErrNotDecomposable says a decomposition does not apply to a node as it
// stands (unknown rank, non-constant per-channel parameters, a dtype the
// rewrite does not write); the node is left untouched. Callers that can
// keep the node (a quantization pass) skip it, callers that cannot (an
// opset downgrade) report it.
var ErrNotDecomposable = errors.New("not decomposable")

// The normalisation operators in terms of reductions and elementwise ops:
// mean = ReduceMean(x), d = x - mean, var = ReduceMean(d*d),
// inv = Pow(var + eps, -0.5), y = d*inv*gamma + beta. This form serves two
// callers: qpass, because Ethos-U has no normalisation operator and every
// piece then gets its own quantization parameters (ONNX has no Rsqrt; Pow
// with a constant exponent is one table lookup once quantized, where Sqrt
// then Reciprocal would be two), and ConvertOpset, because
// LayerNormalization (17) and GroupNormalization (18) do not exist in
// older opsets (nor RMSNormalization before 23). Every op used exists unchanged in form from opset 13 except
// ReduceMean, which the Emitter writes in its opset's form.

// DecomposeLayerNorm replaces a LayerNormalization node by its
// decomposition written for opset. Its optional Mean and InvStdDev outputs
// are kept. It needs the input's rank when axis is non-negative; the
// input must be float32 (or of unknown type, taken as float32: the
// constants written are float32).
func DecomposeLayerNorm(n *Node, opset int64) error {
	x := n.Inputs[0]
	if err := needFloat(x); err != nil {
		return err
	}
	axes, rank, err := trailingNormAxes(n, x)
	if err != nil {
		return err
	}
	e := NewEmitter(n, opset)
	y, mean, inv := normalize(e, x, axes, n.AttrFloat("epsilon", 1e-5), rank)
	if len(n.Inputs) > 1 && n.Inputs[1] != nil {
		y = e.Op("Mul", []*Value{y, n.Inputs[1]})
	}
	if len(n.Inputs) > 2 && n.Inputs[2] != nil {
		y = e.Op("Add", []*Value{y, n.Inputs[2]})
	}
	e.Replace(0, y)
	if len(n.Outputs) > 1 {
		e.Replace(1, mean)
	}
	if len(n.Outputs) > 2 {
		e.Replace(2, inv)
	}
	e.Done()
	return nil
}

// trailingNormAxes gives the negative axes from a normalization's axis
// attribute to the input's last axis, and the rank its constants are
// written at. A non-negative axis needs the input's rank; without it the
// rank is 0, so the constants stay 0-d, which still broadcasts correctly.
func trailingNormAxes(n *Node, x *Value) (axes []int64, rank int, err error) {
	axis := n.AttrInt("axis", -1)
	rank, known := rankOfValue(x)
	if axis >= 0 {
		if !known {
			return nil, 0, fmt.Errorf("axis %d of an input of unknown rank: %w", axis, ErrNotDecomposable)
		}
		axis -= int64(rank)
	}
	if !known {
		rank = 0
	}
	for a := axis; a < 0; a++ {
		axes = append(axes, a)
	}
	return axes, rank, nil
}

// DecomposeRMSNorm replaces an RMSNormalization node (opset 23) by
// x * (ReduceMean(x*x) + eps)^-0.5 * scale over the axes from axis to the
// last: LayerNormalization without the mean. It needs the input's rank
// when axis is non-negative; the input must be float32. stash_type only
// names the precision of the statistics, which are float32 here.
func DecomposeRMSNorm(n *Node, opset int64) error {
	x := n.Inputs[0]
	if err := needFloat(x); err != nil {
		return err
	}
	if len(n.Inputs) < 2 || n.Inputs[1] == nil {
		return fmt.Errorf("no scale input: %w", ErrNotDecomposable)
	}
	axes, rank, err := trailingNormAxes(n, x)
	if err != nil {
		return err
	}
	e := NewEmitter(n, opset)
	sq := e.Op("Mul", []*Value{x, x})
	ms := e.Reduce("ReduceMean", sq, axes)
	ve := e.Op("Add", []*Value{ms, e.Scalar("epsilon", n.AttrFloat("epsilon", 1e-5), rank)})
	inv := e.Op("Pow", []*Value{ve, e.Floats("exponent", nil, []float32{-0.5})})
	y := e.Op("Mul", []*Value{x, inv})
	y = e.Op("Mul", []*Value{y, n.Inputs[1]})
	e.Replace(0, y)
	e.Done()
	return nil
}

// DecomposeGroupNorm replaces a GroupNormalization node by the
// normalisation of a (N, groups, -1) reshape of its input. Scale and bias
// must be float32 constants, either one per group (opset 18's form) or one
// per channel (21's); the channel count must be known.
func DecomposeGroupNorm(n *Node, opset int64) error {
	x := n.Inputs[0]
	if err := needFloat(x); err != nil {
		return err
	}
	rank, ok := rankOfValue(x)
	var c int64 = -1
	if ok && rank > 1 && x.HasShape && x.Shape[1].Known() {
		c = x.Shape[1].Value
	}
	groups := n.AttrInt("num_groups", 0)
	if !ok || c < 0 || rank < 3 || groups <= 0 || c%groups != 0 || len(n.Inputs) < 3 {
		return fmt.Errorf("needs a known rank >= 3 and channel count divisible by num_groups=%d: %w", groups, ErrNotDecomposable)
	}
	scale, ok1 := constFloat32s(n.Inputs[1])
	bias, ok2 := constFloat32s(n.Inputs[2])
	if !ok1 || !ok2 || len(scale) != len(bias) {
		return fmt.Errorf("scale and bias are not float32 constants of one length: %w", ErrNotDecomposable)
	}
	if int64(len(scale)) == groups && groups != c {
		per := c / groups
		s, b := make([]float32, c), make([]float32, c)
		for i := range s {
			s[i], b[i] = scale[int64(i)/per], bias[int64(i)/per]
		}
		scale, bias = s, b
	}
	if int64(len(scale)) != c {
		return fmt.Errorf("%d scale values for %d channels: %w", len(scale), c, ErrNotDecomposable)
	}
	e := NewEmitter(n, opset)
	grouped := e.Op("Reshape", []*Value{x, e.Ints("group_shape", []int64{3}, []int64{0, groups, -1})})
	y, _, _ := normalize(e, grouped, []int64{2}, n.AttrFloat("epsilon", 1e-5), 3)
	y = e.Op("Reshape", []*Value{y, e.Op("Shape", []*Value{x})})
	y = e.Op("Mul", []*Value{y, channelConst(e, "scale", scale, rank)})
	y = e.Op("Add", []*Value{y, channelConst(e, "bias", bias, rank)})
	e.Replace(0, y)
	e.Done()
	return nil
}

// DecomposeInstanceNorm replaces an InstanceNormalization node by the
// normalisation over its spatial axes. Scale and bias must be float32
// constants and the rank known.
func DecomposeInstanceNorm(n *Node, opset int64) error {
	x := n.Inputs[0]
	if err := needFloat(x); err != nil {
		return err
	}
	rank, ok := rankOfValue(x)
	if !ok || rank < 3 || len(n.Inputs) < 3 {
		return fmt.Errorf("needs a known rank >= 3: %w", ErrNotDecomposable)
	}
	scale, ok1 := constFloat32s(n.Inputs[1])
	bias, ok2 := constFloat32s(n.Inputs[2])
	if !ok1 || !ok2 || len(scale) != len(bias) {
		return fmt.Errorf("scale and bias are not float32 constants of one length: %w", ErrNotDecomposable)
	}
	var axes []int64
	for a := 2; a < rank; a++ {
		axes = append(axes, int64(a))
	}
	e := NewEmitter(n, opset)
	y, _, _ := normalize(e, x, axes, n.AttrFloat("epsilon", 1e-5), rank)
	y = e.Op("Mul", []*Value{y, channelConst(e, "scale", scale, rank)})
	y = e.Op("Add", []*Value{y, channelConst(e, "bias", bias, rank)})
	e.Replace(0, y)
	e.Done()
	return nil
}

// normalize emits (x - mean) * (var + eps)^-0.5 over axes and returns the
// result with the mean and the inverse standard deviation (keepdims).
func normalize(e *Emitter, x *Value, axes []int64, eps float32, rank int) (y, mean, inv *Value) {
	mean = e.Reduce("ReduceMean", x, axes)
	d := e.Op("Sub", []*Value{x, mean})
	sq := e.Op("Mul", []*Value{d, d})
	variance := e.Reduce("ReduceMean", sq, axes)
	ve := e.Op("Add", []*Value{variance, e.Scalar("epsilon", eps, rank)})
	inv = e.Op("Pow", []*Value{ve, e.Floats("exponent", nil, []float32{-0.5})})
	y = e.Op("Mul", []*Value{d, inv})
	return y, mean, inv
}

// channelConst shapes a per-channel vector (C,1,...,1) for an input of the
// given rank.
func channelConst(e *Emitter, suffix string, data []float32, rank int) *Value {
	return e.Floats(suffix, append([]int64{int64(len(data))}, onesDims(rank-2)...), data)
}

func needFloat(x *Value) error {
	if dt := valueDType(x); dt != 0 && dt != dtFloat {
		return fmt.Errorf("input of dtype %d, only float32 is written: %w", dt, ErrNotDecomposable)
	}
	return nil
}

// rankOfValue returns the rank of v when its shape or constant is known.
func rankOfValue(v *Value) (int, bool) {
	if v == nil {
		return 0, false
	}
	if v.HasShape {
		return len(v.Shape), true
	}
	if t, ok := constOfValue(v); ok {
		return len(t.Shape), true
	}
	return 0, false
}

// valueDType is v's dtype, from its declaration or its constant.
func valueDType(v *Value) int32 {
	if v == nil {
		return 0
	}
	if v.DType != 0 {
		return v.DType
	}
	if t, _, ok := v.Constant(); ok {
		return t.GetDataType()
	}
	return 0
}

func constFloat32s(v *Value) ([]float32, bool) {
	t, ok := constOfValue(v)
	if !ok || t.DType != dtFloat {
		return nil, false
	}
	out := make([]float32, len(t.F))
	for i, f := range t.F {
		out[i] = float32(f)
	}
	return out, true
}

// maxReadConstElems bounds the constants rewrites read (per-channel
// parameters, axes, shapes): far above those, far below weights.
const maxReadConstElems = 1 << 16

// constOfValue decodes the constant behind v.
func constOfValue(v *Value) (*cTensor, bool) {
	t, dir, ok := v.Constant()
	if !ok {
		return nil, false
	}
	c, err := cTensorFromProto(t, dir, maxReadConstElems)
	if err != nil {
		return nil, false
	}
	return c, true
}
