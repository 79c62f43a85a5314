package tflite

import (
	"fmt"
	"math"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// Channels-last layout: a value with nhwc set holds its ONNX axes
// (N, C, S1, ..., Sk) in the TFLite order (N, S1, ..., Sk, C): NHWC for
// rank 4, [N, L, C] for rank 3 (the [1, H·W, C] of a detection head whose
// NCHW feature map was reshaped to [1, C, H·W]).

// clPerm is where each channels-last axis comes from in ONNX order, for a
// tensor of rank r >= 3.
func clPerm(r int) []int {
	p := make([]int, r)
	for i := 1; i < r-1; i++ {
		p[i] = i + 1
	}
	p[r-1] = 1
	return p
}

// nhwcAxis maps an ONNX axis of a rank-r channels-last tensor to its TFLite
// position.
func nhwcAxis(a, r int) int {
	switch a {
	case 0:
		return 0
	case 1:
		return r - 1
	}
	return a - 1
}

// normAxis resolves a negative ONNX axis.
func normAxis(a int64, rank int) (int, error) {
	if a < 0 {
		a += int64(rank)
	}
	if a < 0 || a >= int64(rank) {
		return 0, fmt.Errorf("axis %d out of range for rank %d", a, rank)
	}
	return int(a), nil
}

func broadcastShape(a, b []int64) ([]int64, error) {
	r := max(len(a), len(b))
	out := make([]int64, r)
	for i := 0; i < r; i++ {
		da, db := int64(1), int64(1)
		if j := i - (r - len(a)); j >= 0 {
			da = a[j]
		}
		if j := i - (r - len(b)); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db || db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

// operand is one input of an elementwise operator: an activation, or a
// quantized constant laid out to match the activations.
func (c *converter) operand(n *onnxpb.NodeProto, name string, rank int, nhwc bool, requant *Quant, typ TensorType) (int, []int64, error) {
	if v, ok := c.vals[name]; ok {
		if v.flatOrder != nil {
			return 0, nil, fmt.Errorf("input %q is flattened in NHWC order", name)
		}
		if len(v.shape) == rank && v.nhwc != nhwc {
			return 0, nil, fmt.Errorf("%w: inputs in different layouts (NCHW and not)", ErrUnsupported)
		}
		if nhwc && len(v.shape) < rank && Elements(toInt32s(v.shape)) != 1 {
			// TFLite would align its axes with the channels-last ones.
			return 0, nil, fmt.Errorf("%w: input %q of shape %v broadcast against a channels-last tensor of rank %d", ErrUnsupported, name, v.shape, rank)
		}
		idx := v.tensor
		if requant != nil && !sameQuant(c.out.Tensors[idx].Quant, requant) {
			idx = c.quantizeTo(n, idx, requant, typ)
		}
		return idx, v.shape, nil
	}
	q, err := c.constOf(name)
	if err != nil {
		return 0, nil, err
	}
	if len(q.scale) != 1 {
		return 0, nil, fmt.Errorf("constant %q has per-axis qparams; TFLite allows them only on conv-like weights", q.name)
	}
	vals := append([]int64(nil), q.vals...)
	dims := append([]int64(nil), q.dims...)
	for len(dims) < rank {
		dims = append([]int64{1}, dims...)
	}
	quant := &Quant{Scale: q.scale, ZeroPoint: q.zp}
	dtype := q.dtype
	if requant != nil {
		// Re-express the constant on the output grid: for Max/Min, whose
		// inputs Vela wants on the output qparams, quantizing is monotonic,
		// so max(Q(x), Q(c)) = Q(max(x, c)) exactly.
		for i, v := range vals {
			real := float64(q.scale[0]) * float64(v-q.zp[0])
			vals[i] = clampQ(math.RoundToEven(real/float64(requant.Scale[0]))+float64(requant.ZeroPoint[0]), typ)
		}
		quant, dtype = requant, typ
	}
	if dtype != Int8 && dtype != Int16 && dtype != Uint8 {
		return 0, nil, fmt.Errorf("constant %q of type %s in an elementwise operator", q.name, dtype)
	}
	shape := dims
	if nhwc && len(dims) == rank && rank >= 3 {
		cp := clPerm(rank)
		vals = permute(vals, dims, cp)
		shape = make([]int64, rank)
		for i, p := range cp {
			shape[i] = dims[p]
		}
	}
	return c.constTensor(q.name, dtype, toInt32s(shape), vals, quant), dims, nil
}

func clampQ(v float64, typ TensorType) int64 {
	lo, hi := typeRange(typ)
	return int64(math.Max(float64(lo), math.Min(float64(hi), v)))
}

// permute reorders a row-major tensor of the given dims by perm (output
// axis i is input axis perm[i]).
func permute(vals []int64, dims []int64, perm []int) []int64 {
	r := len(dims)
	odims := make([]int64, r)
	for i, p := range perm {
		odims[i] = dims[p]
	}
	istride := make([]int64, r)
	s := int64(1)
	for i := r - 1; i >= 0; i-- {
		istride[i] = s
		s *= dims[i]
	}
	out := make([]int64, len(vals))
	idx := make([]int64, r)
	for o := range out {
		var src int64
		for i := 0; i < r; i++ {
			src += idx[i] * istride[perm[i]]
		}
		out[o] = vals[src]
		for i := r - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < odims[i] {
				break
			}
			idx[i] = 0
		}
	}
	return out
}

func toInt32s(v []int64) []int32 {
	out := make([]int32, len(v))
	for i, x := range v {
		out[i] = int32(x)
	}
	return out
}

// quantizeTo rescales tensor idx to other qparams with an integer QUANTIZE.
func (c *converter) quantizeTo(n *onnxpb.NodeProto, idx int, q *Quant, typ TensorType) int {
	src := c.out.Tensors[idx]
	out := c.addTensor(&Tensor{Name: fmt.Sprintf("%s_requantized_%d", n.GetName(), len(c.out.Tensors)), Type: typ, Shape: src.Shape, Quant: q})
	c.addOp(OpQuantize, []int{idx}, []int{out}, newOptions(OptQuantize))
	return out
}

// binary maps Add, Sub, Mul, Max and Min to ADD, SUB, MUL, MAXIMUM and
// MINIMUM, with constants in the activations' layout.
func (c *converter) binary(n *onnxpb.NodeProto) error {
	if len(n.Input) != 2 {
		return fmt.Errorf("%w: %d inputs", ErrUnsupported, len(n.Input))
	}
	// The layout follows the activation(s).
	var act *value
	for _, in := range n.Input {
		if v, ok := c.vals[in]; ok && (act == nil || len(v.shape) > len(act.shape)) {
			act = v
		}
	}
	if act == nil {
		return fmt.Errorf("no activation input")
	}
	minmax := n.GetOpType() == "Max" || n.GetOpType() == "Min"
	t, err := c.target(n.Output[0], !minmax)
	if err != nil {
		return err
	}
	rank := len(act.shape)
	nhwc := act.nhwc
	var requant *Quant
	if minmax {
		requant = t.qnt
	}
	var idx [2]int
	var shapes [2][]int64
	for i, in := range n.Input {
		if idx[i], shapes[i], err = c.operand(n, in, rank, nhwc, requant, t.typ); err != nil {
			return err
		}
	}
	oshape, err := broadcastShape(shapes[0], shapes[1])
	if err != nil {
		return err
	}
	out, _ := c.emitOut(t, oshape, nhwc && len(oshape) == rank)
	switch n.GetOpType() {
	case "Add":
		// pot_scale_int16 false: the int16 kernels for any scale (TFLite's
		// power-of-two-only path has no broadcasting); int8 ignores it.
		c.addOp(OpAdd, idx[:], []int{out}, newOptions(OptAdd, int64(t.act), 0))
	case "Sub":
		c.addOp(OpSub, idx[:], []int{out}, newOptions(OptSub, int64(t.act), 0))
	case "Mul":
		c.addOp(OpMul, idx[:], []int{out}, newOptions(OptMul, int64(t.act)))
	case "Max":
		c.addOp(OpMaximum, idx[:], []int{out}, newOptions(OptMaximumMinimum))
	case "Min":
		c.addOp(OpMinimum, idx[:], []int{out}, newOptions(OptMaximumMinimum))
	}
	return nil
}

// clip maps a Relu or Clip that could not be fused into its producer to
// RELU, RELU6, RELU_N1_TO_1 or RELU_0_TO_1, or to MAXIMUM/MINIMUM with
// constants on the output grid for other bounds. A bound computed by the
// graph (a top-dB floor: ReduceMax minus a constant) is a MAXIMUM/MINIMUM
// with that activation, both operands requantized to the output grid.
func (c *converter) clip(n *onnxpb.NodeProto) error {
	x, err := c.in(n.Input[0])
	if err != nil {
		return err
	}
	if n.GetOpType() == "Clip" && (c.computedBound(n, 1) || c.computedBound(n, 2)) {
		return c.clipComputed(n, x)
	}
	t, err := c.target(n.Output[0], false)
	if err != nil {
		return err
	}
	lo, hi, err := c.clipBounds(n)
	if err != nil {
		return err
	}
	act, ok, err := c.fusedActivation(n, t.typ, t.qnt)
	if err != nil {
		return err
	}
	out, _ := c.emitOut(t, x.shape, x.nhwc)
	switch {
	case ok && act == ActRelu:
		c.addOp(OpRelu, []int{x.tensor}, []int{out}, nil)
	case ok && act == ActRelu6:
		c.addOp(OpRelu6, []int{x.tensor}, []int{out}, nil)
	case ok && act == ActReluN1To1:
		c.addOp(OpReluN1To1, []int{x.tensor}, []int{out}, nil)
	case ok && act == ActNone:
		c.addOp(OpQuantize, []int{x.tensor}, []int{out}, newOptions(OptQuantize))
	case lo == 0 && hi == 1:
		c.addOp(OpRelu0To1, []int{x.tensor}, []int{out}, nil)
	default:
		src := x.tensor
		if !sameQuant(c.out.Tensors[src].Quant, t.qnt) {
			src = c.quantizeTo(n, src, t.qnt, t.typ)
		}
		shape := c.out.Tensors[out].Shape
		bound := func(v float64) int {
			q := clampQ(math.RoundToEven(v/float64(t.qnt.Scale[0]))+float64(t.qnt.ZeroPoint[0]), t.typ)
			return c.constTensor(fmt.Sprintf("%s_bound_%d", n.GetName(), len(c.out.Tensors)), t.typ, []int32{1}, []int64{q}, t.qnt)
		}
		if !math.IsInf(lo, -1) && !math.IsInf(hi, 1) {
			mid := c.addTensor(&Tensor{Name: n.GetName() + "_lower_bounded", Type: t.typ, Shape: shape, Quant: t.qnt})
			c.addOp(OpMaximum, []int{src, bound(lo)}, []int{mid}, newOptions(OptMaximumMinimum))
			c.addOp(OpMinimum, []int{mid, bound(hi)}, []int{out}, newOptions(OptMaximumMinimum))
		} else if !math.IsInf(lo, -1) {
			c.addOp(OpMaximum, []int{src, bound(lo)}, []int{out}, newOptions(OptMaximumMinimum))
		} else {
			c.addOp(OpMinimum, []int{src, bound(hi)}, []int{out}, newOptions(OptMaximumMinimum))
		}
	}
	return nil
}

// fixedQuant is the output quantization TFLite's kernels fix for LOGISTIC,
// TANH and SOFTMAX.
func fixedQuant(op BuiltinOp, typ TensorType) *Quant {
	if typ == Int16 {
		return &Quant{Scale: []float32{1.0 / 32768}, ZeroPoint: []int64{0}}
	}
	if op == OpTanh {
		return &Quant{Scale: []float32{1.0 / 128}, ZeroPoint: []int64{0}}
	}
	return &Quant{Scale: []float32{1.0 / 256}, ZeroPoint: []int64{-128}}
}

// RequantizedTableOps counts the LOGISTIC and TANH operators of m whose
// output goes through a QUANTIZE to another grid: the ones whose quantizer
// chose a grid other than TFLite's fixed one (onnxquant quantize
// --tflite-grids chooses TFLite's). SOFTMAX is left out: the quantizer
// decomposes softmax, so no option of it gives SOFTMAX its fixed grid.
func RequantizedTableOps(m *Model) int {
	fixed := map[int]bool{}
	for _, op := range m.Operators {
		switch op.Op {
		case OpLogistic, OpTanh:
			for _, o := range op.Outputs {
				fixed[o] = true
			}
		}
	}
	n := 0
	for _, op := range m.Operators {
		if op.Op == OpQuantize && len(op.Inputs) == 1 && fixed[op.Inputs[0]] {
			n++
		}
	}
	return n
}

// withFixedOutput emits op into the fixed output qparams TFLite requires,
// then a QUANTIZE to the quantizer's choice when it differs.
func (c *converter) withFixedOutput(n *onnxpb.NodeProto, op BuiltinOp, x *value, t *outTarget, opts *Options) {
	out, _ := c.emitOut(t, x.shape, x.nhwc)
	fq := fixedQuant(op, t.typ)
	if sameQuant(fq, t.qnt) {
		c.addOp(op, []int{x.tensor}, []int{out}, opts)
		return
	}
	mid := c.addTensor(&Tensor{Name: n.GetName() + "_fixed_scale", Type: t.typ, Shape: c.out.Tensors[out].Shape, Quant: fq})
	c.addOp(op, []int{x.tensor}, []int{mid}, opts)
	c.addOp(OpQuantize, []int{mid}, []int{out}, newOptions(OptQuantize))
}

// unary maps Sigmoid, Tanh, HardSwish and LeakyRelu.
func (c *converter) unary(n *onnxpb.NodeProto) error {
	x, t, err := c.unaryIO(n)
	if err != nil {
		return err
	}
	switch n.GetOpType() {
	case "Sigmoid":
		c.withFixedOutput(n, OpLogistic, x, t, nil)
	case "Tanh":
		c.withFixedOutput(n, OpTanh, x, t, nil)
	case "HardSwish":
		if c.out.Tensors[x.tensor].Type == Int16 {
			return c.hardSwish16(n, x, t)
		}
		out, _ := c.emitOut(t, x.shape, x.nhwc)
		c.addOp(OpHardSwish, []int{x.tensor}, []int{out}, newOptions(OptHardSwish))
	case "LeakyRelu":
		out, _ := c.emitOut(t, x.shape, x.nhwc)
		o := &Options{Type: OptLeakyRelu, Floats: map[int]float32{0: attrFloat(n, "alpha", 0.01)}}
		c.addOp(OpLeakyRelu, []int{x.tensor}, []int{out}, o)
	}
	return nil
}

// hardSigmoid rewrites HardSigmoid(x) = clamp(alpha·x + beta, 0, 1), which
// has no TFLite builtin, as a 1×1 DEPTHWISE_CONV_2D whose int8 weight
// holds alpha exactly (127 at scale alpha/127) and whose bias holds beta,
// with the clamp fused (RELU, exact when the output range ends at 1).
func (c *converter) hardSigmoid(n *onnxpb.NodeProto) error {
	x, t, err := c.unaryIO(n)
	if err != nil {
		return err
	}
	alpha, beta := float64(attrFloat(n, "alpha", 0.2)), float64(attrFloat(n, "beta", 0.5))
	if len(x.shape) == 4 && x.nhwc {
		out, _ := c.emitOut(t, x.shape, true)
		return c.emitHardSigmoid(n, x, alpha, beta, t.typ, t.qnt, out)
	}
	view, shape := c.channelView(n, x.tensor)
	hs := c.addTensor(&Tensor{Name: n.GetName() + "_as_4d", Type: t.typ, Shape: shape, Quant: t.qnt})
	if err := c.emitHardSigmoid(n, view, alpha, beta, t.typ, t.qnt, hs); err != nil {
		return err
	}
	c.reshapeTo(n, hs, x.shape, x.nhwc, t)
	return nil
}

// channelView reshapes a tensor of any rank to the NHWC [1, 1, rest, C]
// (C its last TFLite axis) that a depthwise convolution reads; it returns
// the view as a value and its TFLite shape.
func (c *converter) channelView(n *onnxpb.NodeProto, idx int) (*value, []int32) {
	src := c.out.Tensors[idx]
	ch := int64(1)
	if len(src.Shape) > 0 {
		ch = int64(src.Shape[len(src.Shape)-1])
	}
	rest := int64(Elements(src.Shape)) / ch
	v := &value{shape: []int64{1, ch, 1, rest}, nhwc: true}
	shape := v.tflShape()
	v.tensor = c.addTensor(&Tensor{Name: fmt.Sprintf("%s_channel_view%d", n.GetName(), len(c.out.Tensors)), Type: src.Type, Shape: shape, Quant: src.Quant})
	c.addOp(OpReshape, []int{idx, c.int32Const(fmt.Sprintf("%s_channel_view_shape%d", n.GetName(), len(c.out.Tensors)), []int32{4}, widen(shape))}, []int{v.tensor},
		&Options{Type: OptReshape, Vectors: map[int][]int32{0: shape}})
	return v, shape
}

// emitHardSigmoid writes clamp(alpha·x + beta, 0, 1) of an NHWC x into
// tensor out (of type typ and qparams q), as hardSigmoid describes.
func (c *converter) emitHardSigmoid(n *onnxpb.NodeProto, x *value, alpha, beta float64, typ TensorType, q *Quant, out int) error {
	if alpha <= 0 {
		return fmt.Errorf("%w: HardSigmoid alpha %g", ErrUnsupported, alpha)
	}
	qmin, qmax := typeRange(typ)
	s, zp := float64(q.Scale[0]), q.ZeroPoint[0]
	realMin, realMax := float64(qmin-zp)*s, float64(qmax-zp)*s
	// The fused RELU clamps at 0 unless the output type already does; the
	// clamp at 1 is the type's own when its range ends there, else a
	// MINIMUM with 1 on the output grid (exact: quantizing is monotonic).
	act := ActRelu
	if realMin >= -s/2 {
		act = ActNone
	}
	needMin := realMax > 1+s/2
	in := c.out.Tensors[x.tensor]
	ch := x.shape[1]
	ws := float32(alpha / 127)
	wv := make([]int64, ch)
	for i := range wv {
		wv[i] = 127
	}
	wt := c.constTensor(n.GetName()+"_alpha", Int8, []int32{1, 1, 1, int32(ch)}, wv, &Quant{Scale: []float32{ws}, ZeroPoint: []int64{0}})
	bscale := float64(in.Quant.Scale[0]) * float64(ws)
	bv := make([]int64, ch)
	for i := range bv {
		bv[i] = int64(math.RoundToEven(beta / bscale))
	}
	btype := Int32
	if in.Type == Int16 {
		btype = Int64
	}
	bq := &Quant{Scale: []float32{float32(bscale)}, ZeroPoint: []int64{0}}
	bt := c.constTensor(n.GetName()+"_beta", btype, []int32{int32(ch)}, bv, bq)
	convOut := out
	if needMin {
		convOut = c.addTensor(&Tensor{Name: n.GetName() + "_unclamped", Type: typ, Shape: c.out.Tensors[out].Shape, Quant: q})
	}
	c.addOp(OpDepthwiseConv2D, []int{x.tensor, wt, bt}, []int{convOut},
		newOptions(OptDepthwiseConv2D, int64(PaddingValid), 1, 1, 1, int64(act), 1, 1))
	if needMin {
		one := clampQ(math.RoundToEven(1/s)+float64(zp), typ)
		ct := c.constTensor(n.GetName()+"_one", typ, []int32{1}, []int64{one}, q)
		c.addOp(OpMinimum, []int{convOut, ct}, []int{out}, newOptions(OptMaximumMinimum))
	}
	return nil
}

// hardSwish16 rewrites an int16 HardSwish, which Vela and TFLite run at 8
// bits only, as x · HardSigmoid(x) (alpha 1/6, beta 1/2): the depthwise
// form above (over a [1, 1, rest, C] view when x is not NCHW) into int16's
// grid of [0, 1] (scale 1/32767), then MUL into the quantizer's output
// qparams.
func (c *converter) hardSwish16(n *onnxpb.NodeProto, x *value, t *outTarget) error {
	in := c.out.Tensors[x.tensor]
	hq := &Quant{Scale: []float32{1.0 / 32767}, ZeroPoint: []int64{0}}
	hs := c.addTensor(&Tensor{Name: n.GetName() + "_hard_sigmoid", Type: Int16, Shape: in.Shape, Quant: hq})
	if len(x.shape) == 4 && x.nhwc {
		if err := c.emitHardSigmoid(n, x, 1.0/6, 0.5, Int16, hq, hs); err != nil {
			return err
		}
	} else {
		view, shape := c.channelView(n, x.tensor)
		hs4 := c.addTensor(&Tensor{Name: n.GetName() + "_hard_sigmoid_4d", Type: Int16, Shape: shape, Quant: hq})
		if err := c.emitHardSigmoid(n, view, 1.0/6, 0.5, Int16, hq, hs4); err != nil {
			return err
		}
		c.addOp(OpReshape, []int{hs4, c.int32Const(n.GetName()+"_hard_sigmoid_shape", []int32{int32(len(in.Shape))}, widen(in.Shape))}, []int{hs},
			&Options{Type: OptReshape, Vectors: map[int][]int32{0: in.Shape}})
	}
	out, _ := c.emitOut(t, x.shape, x.nhwc)
	c.addOp(OpMul, []int{x.tensor, hs}, []int{out}, newOptions(OptMul, 0))
	return nil
}

// softmax maps Softmax over the innermost (TFLite) axis to SOFTMAX.
func (c *converter) softmax(n *onnxpb.NodeProto) error {
	x, err := c.in(n.Input[0])
	if err != nil {
		return err
	}
	axis, err := normAxis(attrInt(n, "axis", -1), len(x.shape))
	if err != nil {
		return err
	}
	if x.nhwc {
		axis = nhwcAxis(axis, len(x.shape))
	}
	if axis != len(x.shape)-1 {
		return fmt.Errorf("%w: Softmax over axis %d, not the innermost one of the TFLite tensor", ErrUnsupported, axis)
	}
	t, err := c.target(n.Output[0], false)
	if err != nil {
		return err
	}
	c.withFixedOutput(n, OpSoftmax, x, t, &Options{Type: OptSoftmax, Floats: map[int]float32{0: 1}})
	return nil
}

// orderKept reports whether an NHWC tensor of NCHW shape s holds its
// elements in the same order as the NCHW tensor (C is 1, or H·W is 1).
func orderKept(s []int64) bool { return s[1] == 1 || spatialSize(s) == 1 }

// spatialSize is the product of the axes after N and C.
func spatialSize(s []int64) int64 {
	p := int64(1)
	for _, d := range s[2:] {
		p *= d
	}
	return p
}

// spatialReshape reports whether reshaping a channels-last tensor of
// ONNX shape in to out only merges or splits its spatial axes (N and C
// kept, rank 3 or more on both sides): the channels-last data are then
// already in the order of out's channels-last form, and RESHAPE copies them.
func spatialReshape(in, out []int64) bool {
	return len(in) >= 3 && len(out) >= 3 && in[0] == out[0] && in[1] == out[1] && spatialSize(in) == spatialSize(out)
}

// reshape maps Flatten, Reshape, Squeeze and Unsqueeze to RESHAPE. An NHWC
// input whose order differs from NCHW is flattened in NHWC order and the
// next FULLY_CONNECTED's weights absorb the permutation.
func (c *converter) reshape(n *onnxpb.NodeProto) error {
	x, ok := c.vals[n.Input[0]]
	if !ok {
		return fmt.Errorf("input %q is not a quantized activation", n.Input[0])
	}
	if x.flatOrder != nil {
		return fmt.Errorf("input %q is flattened in NHWC order", n.Input[0])
	}
	oshape, err := c.reshapeTarget(n, x.shape)
	if err != nil {
		return err
	}
	t, err := c.target(n.Output[0], false)
	if err != nil {
		return err
	}
	var flat []int
	if x.nhwc && !orderKept(x.shape) {
		if spatialReshape(x.shape, oshape) {
			// [N, C, H, W] to [N, C, H·W] and back: channels-last stays.
			c.reshapeTo(n, x.tensor, oshape, true, t)
			return nil
		}
		if len(oshape) != 2 || oshape[0] != x.shape[0] {
			return fmt.Errorf("%w: reshaping channels-first %v to %v would need a layout TRANSPOSE, which Vela leaves on the CPU (only reshapes that merge or split the axes after N and C, or flatten into a FULLY_CONNECTED, keep channels-last)", ErrUnsupported, x.shape, oshape)
		}
		C, S := int(x.shape[1]), int(spatialSize(x.shape))
		flat = make([]int, C*S)
		for s := 0; s < S; s++ {
			for ch := 0; ch < C; ch++ {
				flat[s*C+ch] = ch*S + s
			}
		}
	}
	nhwc := len(oshape) == 4 && orderKept(oshape)
	c.reshapeTo(n, x.tensor, oshape, nhwc, t)
	if flat != nil {
		c.vals[t.q.Output[0]].flatOrder = flat
	}
	return nil
}

// reshapeTo emits RESHAPE of tensor src to oshape (in nhwc layout or not)
// into target t, with a QUANTIZE after when the qparams change (RESHAPE
// copies bytes).
func (c *converter) reshapeTo(n *onnxpb.NodeProto, src int, oshape []int64, nhwc bool, t *outTarget) {
	out, v := c.emitOut(t, oshape, nhwc)
	ts := v.tflShape()
	shapeT := c.int32Const(n.GetName()+"_shape", []int32{int32(len(ts))}, widen(ts))
	opts := &Options{Type: OptReshape, Vectors: map[int][]int32{0: ts}}
	dst := out
	srcT := c.out.Tensors[src]
	if !sameQuant(srcT.Quant, t.qnt) {
		dst = c.addTensor(&Tensor{Name: n.GetName() + "_reshaped", Type: srcT.Type, Shape: ts, Quant: srcT.Quant})
	}
	c.addOp(OpReshape, []int{src, shapeT}, []int{dst}, opts)
	if dst != out {
		c.addOp(OpQuantize, []int{dst}, []int{out}, newOptions(OptQuantize))
	}
}

// reshapeTarget computes the ONNX output shape of a reshaping node.
func (c *converter) reshapeTarget(n *onnxpb.NodeProto, in []int64) ([]int64, error) {
	total := int64(1)
	for _, d := range in {
		total *= d
	}
	constInts := func(i int) ([]int64, error) {
		if len(n.Input) <= i || n.Input[i] == "" {
			return nil, nil
		}
		t, ok := c.consts[n.Input[i]]
		if !ok {
			return nil, fmt.Errorf("%w: %q is computed, not a constant", ErrUnsupported, n.Input[i])
		}
		return intValues(t, c.dir)
	}
	switch n.GetOpType() {
	case "Flatten":
		axis, err := normAxis(attrInt(n, "axis", 1), len(in)+1)
		if err != nil {
			return nil, err
		}
		a := int64(1)
		for _, d := range in[:axis] {
			a *= d
		}
		return []int64{a, total / a}, nil
	case "Reshape":
		s, err := constInts(1)
		if err != nil || s == nil {
			return nil, fmt.Errorf("shape: %v", err)
		}
		out := append([]int64(nil), s...)
		known, neg := int64(1), -1
		for i, d := range out {
			switch {
			case d == 0 && i < len(in):
				out[i] = in[i]
			case d == -1:
				neg = i
				continue
			}
			known *= out[i]
		}
		if neg >= 0 && known > 0 {
			out[neg] = total / known
		}
		return out, nil
	case "Squeeze", "Unsqueeze":
		axes, err := constInts(1)
		if err != nil {
			return nil, err
		}
		if axes == nil {
			axes = attrInts(n, "axes", nil)
		}
		if n.GetOpType() == "Squeeze" {
			drop := map[int]bool{}
			for _, a := range axes {
				ax, err := normAxis(a, len(in))
				if err != nil {
					return nil, err
				}
				drop[ax] = true
			}
			var out []int64
			for i, d := range in {
				if drop[i] || (len(axes) == 0 && d == 1) {
					continue
				}
				out = append(out, d)
			}
			return out, nil
		}
		rank := len(in) + len(axes)
		ins := map[int]bool{}
		for _, a := range axes {
			ax, err := normAxis(a, rank)
			if err != nil {
				return nil, err
			}
			ins[ax] = true
		}
		var out []int64
		j := 0
		for i := 0; i < rank; i++ {
			if ins[i] {
				out = append(out, 1)
			} else {
				out = append(out, in[j])
				j++
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("not a reshape")
}

// identity aliases its output to its input.
func (c *converter) identity(n *onnxpb.NodeProto) error {
	v, ok := c.vals[n.Input[0]]
	if !ok && c.isConstOperand(n.Input[0]) {
		return errSkipped // read through by constOf
	}
	if !ok {
		return fmt.Errorf("input %q is not a quantized activation", n.Input[0])
	}
	c.vals[n.Output[0]] = v
	return nil
}

// concat maps Concat to CONCATENATION along the remapped axis.
func (c *converter) concat(n *onnxpb.NodeProto) error {
	// Constant inputs (exporters pad channels with zeros this way) are
	// written on the output grid in the activations' layout.
	ins := make([]*value, len(n.Input))
	var act *value
	for i, name := range n.Input {
		if c.isConstOperand(name) {
			continue
		}
		v, err := c.in(name)
		if err != nil {
			return err
		}
		ins[i] = v
		if act == nil {
			act = v
		}
	}
	if act == nil {
		return fmt.Errorf("no activation input")
	}
	t, err := c.target(n.Output[0], true)
	if err != nil {
		return err
	}
	for i, name := range n.Input {
		if ins[i] != nil {
			continue
		}
		idx, dims, err := c.operand(n, name, len(act.shape), act.nhwc, t.qnt, t.typ)
		if err != nil {
			return err
		}
		if len(dims) != len(act.shape) {
			return fmt.Errorf("constant %q of rank %d in a concatenation of rank %d", name, len(dims), len(act.shape))
		}
		ins[i] = &value{tensor: idx, shape: dims, nhwc: act.nhwc}
	}
	axis, err := normAxis(attrInt(n, "axis", 0), len(act.shape))
	if err != nil {
		return err
	}
	oshape := append([]int64(nil), act.shape...)
	oshape[axis] = 0
	idx := make([]int, len(ins))
	for i, v := range ins {
		if v.nhwc != act.nhwc || len(v.shape) != len(oshape) {
			return fmt.Errorf("%w: inputs in different layouts", ErrUnsupported)
		}
		oshape[axis] += v.shape[axis]
		idx[i] = v.tensor
	}
	taxis := axis
	if act.nhwc {
		taxis = nhwcAxis(axis, len(act.shape))
	}
	// Inputs on other qparams are requantized first: TFLite's reference
	// kernel rescales them itself, but XNNPACK and others refuse mixed
	// qparams, and the result is the same.
	for i, ti := range idx {
		if src := c.out.Tensors[ti]; !sameQuant(src.Quant, t.qnt) || src.Type != t.typ {
			idx[i] = c.quantizeTo(n, ti, t.qnt, t.typ)
		}
	}
	out, _ := c.emitOut(t, oshape, act.nhwc)
	c.addOp(OpConcatenation, idx, []int{out}, newOptions(OptConcatenation, int64(taxis), int64(t.act)))
	return nil
}

// transpose maps a Transpose that is not a layout change to TRANSPOSE; one
// that only undoes the NHWC layout becomes a RESHAPE or nothing.
func (c *converter) transpose(n *onnxpb.NodeProto) error {
	x, err := c.in(n.Input[0])
	if err != nil {
		return err
	}
	r := len(x.shape)
	perm := attrInts(n, "perm", nil)
	if perm == nil {
		for i := r - 1; i >= 0; i-- {
			perm = append(perm, int64(i))
		}
	}
	if len(perm) != r {
		return fmt.Errorf("perm %v for rank %d", perm, r)
	}
	oshape := make([]int64, r)
	tperm := make([]int64, r)
	for i, p := range perm {
		if p < 0 || p >= int64(r) {
			return fmt.Errorf("perm %v for rank %d", perm, r)
		}
		oshape[i] = x.shape[p]
		tperm[i] = p
		if x.nhwc {
			tperm[i] = int64(nhwcAxis(int(p), r)) // channels-last position of ONNX axis p
		}
	}
	t, err := c.target(n.Output[0], false)
	if err != nil {
		return err
	}
	if !x.nhwc && r == 4 && perm[0] == 0 && perm[1] == 3 && perm[2] == 1 && perm[3] == 2 {
		// NHWC to NCHW (a model taking NHWC input, for convolutions):
		// the NCHW result's NHWC form is the input itself.
		c.reshapeTo(n, x.tensor, oshape, true, t)
		return nil
	}
	identity := true
	for i, p := range tperm {
		identity = identity && p == int64(i)
	}
	if identity {
		c.reshapeTo(n, x.tensor, oshape, false, t)
		return nil
	}
	pt := c.int32Const(n.GetName()+"_perm", []int32{int32(r)}, tperm)
	out, _ := c.emitOut(t, oshape, false)
	src := x.tensor
	if !sameQuant(c.out.Tensors[src].Quant, t.qnt) {
		src = c.quantizeTo(n, src, t.qnt, t.typ)
	}
	c.addOp(OpTranspose, []int{src, pt}, []int{out}, newOptions(OptTranspose))
	return nil
}

// resize maps 2-D nearest and linear Resize to RESIZE_NEAREST_NEIGHBOR and
// RESIZE_BILINEAR.
func (c *converter) resize(n *onnxpb.NodeProto) error {
	x, err := c.in(n.Input[0])
	if err != nil {
		return err
	}
	if len(x.shape) != 4 || !x.nhwc {
		return fmt.Errorf("%w: Resize of a non-NCHW tensor %v", ErrUnsupported, x.shape)
	}
	oshape := append([]int64(nil), x.shape...)
	if len(n.Input) > 3 && n.Input[3] != "" {
		t, ok := c.consts[n.Input[3]]
		if !ok {
			return fmt.Errorf("%w: computed sizes", ErrUnsupported)
		}
		s, err := intValues(t, c.dir)
		if err != nil || len(s) != 4 {
			return fmt.Errorf("sizes: %v", err)
		}
		copy(oshape, s)
	} else if len(n.Input) > 2 && n.Input[2] != "" {
		t, ok := c.consts[n.Input[2]]
		if !ok {
			return fmt.Errorf("%w: computed scales", ErrUnsupported)
		}
		s, err := floatValues(t, c.dir)
		if err != nil || len(s) != 4 {
			return fmt.Errorf("scales: %v", err)
		}
		for i := range oshape {
			oshape[i] = int64(math.Floor(float64(x.shape[i]) * float64(s[i])))
		}
	} else {
		return fmt.Errorf("Resize without scales or sizes")
	}
	if oshape[0] != x.shape[0] || oshape[1] != x.shape[1] {
		return fmt.Errorf("%w: Resize over batch or channels", ErrUnsupported)
	}
	mode := attrString(n, "mode", "nearest")
	ctm := attrString(n, "coordinate_transformation_mode", "half_pixel")
	var op BuiltinOp
	var opts *Options
	align, half := int64(0), int64(0)
	switch ctm {
	case "align_corners":
		align = 1
	case "half_pixel", "pytorch_half_pixel":
		half = 1
	case "asymmetric":
	default:
		return fmt.Errorf("%w: coordinate_transformation_mode %q", ErrUnsupported, ctm)
	}
	switch mode {
	case "nearest":
		nm := attrString(n, "nearest_mode", "round_prefer_floor")
		if ctm == "asymmetric" && nm != "floor" {
			return fmt.Errorf("%w: nearest_mode %q with asymmetric coordinates (TFLite floors)", ErrUnsupported, nm)
		}
		op, opts = OpResizeNearestNeighbor, newOptions(OptResizeNearestNeighbor, align, half)
	case "linear":
		op, opts = OpResizeBilinear, newOptions(OptResizeBilinear, 0, 0, align, half)
	default:
		return fmt.Errorf("%w: Resize mode %q", ErrUnsupported, mode)
	}
	t, err := c.target(n.Output[0], false)
	if err != nil {
		return err
	}
	size := c.int32Const(n.GetName()+"_size", []int32{2}, oshape[2:])
	out, _ := c.emitOut(t, oshape, true)
	src := x.tensor
	if !sameQuant(c.out.Tensors[src].Quant, t.qnt) {
		src = c.quantizeTo(n, src, t.qnt, t.typ)
	}
	c.addOp(op, []int{src, size}, []int{out}, opts)
	return nil
}

// pad maps constant-mode Pad to PAD (zero) or PADV2 (another value).
func (c *converter) pad(n *onnxpb.NodeProto) error {
	x, err := c.in(n.Input[0])
	if err != nil {
		return err
	}
	mode := attrString(n, "mode", "constant")
	if mode != "constant" && mode != "reflect" {
		return fmt.Errorf("%w: Pad mode %q (constant and reflect are mapped)", ErrUnsupported, mode)
	}
	var pads []int64
	if len(n.Input) > 1 && n.Input[1] != "" {
		t, ok := c.consts[n.Input[1]]
		if !ok {
			return fmt.Errorf("%w: computed pads", ErrUnsupported)
		}
		if pads, err = intValues(t, c.dir); err != nil {
			return err
		}
	} else {
		pads = attrInts(n, "pads", nil)
	}
	r := len(x.shape)
	if len(pads) != 2*r || (len(n.Input) > 3 && n.Input[3] != "") {
		return fmt.Errorf("%w: pads %v (only all-axes constant pads)", ErrUnsupported, pads)
	}
	t, err := c.target(n.Output[0], false)
	if err != nil {
		return err
	}
	oshape := make([]int64, r)
	flat := make([]int64, 2*r)
	for i := 0; i < r; i++ {
		if pads[i] < 0 || pads[i+r] < 0 {
			return fmt.Errorf("%w: negative pads", ErrUnsupported)
		}
		oshape[i] = x.shape[i] + pads[i] + pads[i+r]
		ti := i
		if x.nhwc {
			ti = nhwcAxis(i, r)
		}
		flat[2*ti], flat[2*ti+1] = pads[i], pads[i+r]
	}
	src := x.tensor
	if !sameQuant(c.out.Tensors[src].Quant, t.qnt) {
		src = c.quantizeTo(n, src, t.qnt, t.typ)
	}
	pt := c.int32Const(n.GetName()+"_paddings", []int32{int32(r), 2}, flat)
	out, _ := c.emitOut(t, oshape, x.nhwc)
	if mode == "reflect" {
		// ONNX's reflect (the edge not repeated) is TFLite's REFLECT.
		c.addOp(OpMirrorPad, []int{src, pt}, []int{out}, newOptions(OptMirrorPad, 0))
		return nil
	}
	if len(n.Input) > 2 && n.Input[2] != "" {
		q, err := c.constOf(n.Input[2])
		if err != nil {
			return fmt.Errorf("pad value: %w", err)
		}
		real := float64(q.scale[0]) * float64(q.vals[0]-q.zp[0])
		v := clampQ(math.RoundToEven(real/float64(t.qnt.Scale[0]))+float64(t.qnt.ZeroPoint[0]), t.typ)
		if v != t.qnt.ZeroPoint[0] {
			cv := c.constTensor(n.GetName()+"_pad_value", t.typ, []int32{1}, []int64{v}, t.qnt)
			c.addOp(OpPadV2, []int{src, pt, cv}, []int{out}, newOptions(OptPadV2))
			return nil
		}
	}
	c.addOp(OpPad, []int{src, pt}, []int{out}, newOptions(OptPad))
	return nil
}

// computedBound reports whether Clip input i is an activation.
func (c *converter) computedBound(n *onnxpb.NodeProto, i int) bool {
	if len(n.Input) <= i || n.Input[i] == "" {
		return false
	}
	_, ok := c.vals[n.Input[i]]
	return ok
}

// clipComputed maps a Clip with a computed bound to MAXIMUM (lower) and
// MINIMUM (upper) on the output qparams, which Vela wants on both inputs:
// quantizing is monotonic, so max(Q(x), Q(b)) = Q(max(x, b)).
func (c *converter) clipComputed(n *onnxpb.NodeProto, x *value) error {
	t, err := c.target(n.Output[0], false)
	if err != nil {
		return err
	}
	bound := func(i int) (int, bool, error) {
		if len(n.Input) <= i || n.Input[i] == "" {
			return 0, false, nil
		}
		if v, ok := c.vals[n.Input[i]]; ok {
			if len(v.shape) > 0 && Elements(v.tflShape()) != 1 {
				return 0, false, fmt.Errorf("%w: Clip bound %q is not a scalar", ErrUnsupported, n.Input[i])
			}
			idx := v.tensor
			if !sameQuant(c.out.Tensors[idx].Quant, t.qnt) || c.out.Tensors[idx].Type != t.typ {
				idx = c.quantizeTo(n, idx, t.qnt, t.typ)
			}
			return idx, true, nil
		}
		f, err := c.scalarConst(n.Input[i])
		if err != nil {
			return 0, false, fmt.Errorf("clip bound %q: %w", n.Input[i], err)
		}
		q := clampQ(math.RoundToEven(f/float64(t.qnt.Scale[0]))+float64(t.qnt.ZeroPoint[0]), t.typ)
		return c.constTensor(fmt.Sprintf("%s_bound_%d", n.GetName(), i), t.typ, []int32{1}, []int64{q}, t.qnt), true, nil
	}
	lo, hasLo, err := bound(1)
	if err != nil {
		return err
	}
	hi, hasHi, err := bound(2)
	if err != nil {
		return err
	}
	src := x.tensor
	if !sameQuant(c.out.Tensors[src].Quant, t.qnt) {
		src = c.quantizeTo(n, src, t.qnt, t.typ)
	}
	out, _ := c.emitOut(t, x.shape, x.nhwc)
	shape := c.out.Tensors[out].Shape
	switch {
	case hasLo && hasHi:
		mid := c.addTensor(&Tensor{Name: n.GetName() + "_lower_bounded", Type: t.typ, Shape: shape, Quant: t.qnt})
		c.addOp(OpMaximum, []int{src, lo}, []int{mid}, newOptions(OptMaximumMinimum))
		c.addOp(OpMinimum, []int{mid, hi}, []int{out}, newOptions(OptMaximumMinimum))
	case hasLo:
		c.addOp(OpMaximum, []int{src, lo}, []int{out}, newOptions(OptMaximumMinimum))
	default:
		c.addOp(OpMinimum, []int{src, hi}, []int{out}, newOptions(OptMaximumMinimum))
	}
	return nil
}

// cast treats a Cast to float of a float tensor (exporters write them
// around shape arithmetic) as an Identity; other casts have no NPU form.
func (c *converter) cast(n *onnxpb.NodeProto) error {
	if to := attrInt(n, "to", 0); to != int64(onnxpb.TensorProto_FLOAT) {
		return fmt.Errorf("%w: Cast to %s", ErrUnsupported, onnxpb.TensorProto_DataType(to))
	}
	return c.identity(n)
}

// depthToSpace maps DepthToSpace (DCR and CRD) and SpaceToDepth, which Vela
// does not run on the NPU, to RESHAPE, one TRANSPOSE and RESHAPE over the
// NHWC tensor, which it does: with block b, DCR's NHWC input [N,H,W,b·b·C]
// viewed as [N·H, W, b, b·C] transposed by [0,2,1,3] is the output
// [N, H·b, W·b, C] in memory order; CRD views it as [N·H, W, C, b, b] and
// transposes by [0,3,1,4,2]; SpaceToDepth is DCR's inverse, the same
// transpose of [N·H, b, W, b·C].
func (c *converter) depthToSpace(n *onnxpb.NodeProto) error {
	x, err := c.in(n.Input[0])
	if err != nil {
		return err
	}
	if len(x.shape) != 4 || !x.nhwc {
		return fmt.Errorf("%w: %s over %v, not an NCHW activation", ErrUnsupported, n.GetOpType(), x.shape)
	}
	b := attrInt(n, "blocksize", 0)
	nb, ch, h, w := x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	if b < 1 {
		return fmt.Errorf("blocksize %d", b)
	}
	var view, perm, oshape []int64
	switch {
	case n.GetOpType() == "SpaceToDepth":
		if h%b != 0 || w%b != 0 {
			return fmt.Errorf("input %v does not divide into blocks of %d", x.shape, b)
		}
		view, perm = []int64{nb * h / b, b, w / b, b * ch}, []int64{0, 2, 1, 3}
		oshape = []int64{nb, ch * b * b, h / b, w / b}
	case ch%(b*b) != 0:
		return fmt.Errorf("%d channels do not divide into blocks of %d", ch, b)
	case attrString(n, "mode", "DCR") == "CRD":
		view, perm = []int64{nb * h, w, ch / (b * b), b, b}, []int64{0, 3, 1, 4, 2}
		oshape = []int64{nb, ch / (b * b), h * b, w * b}
	default:
		view, perm = []int64{nb * h, w, b, b * ch / (b * b)}, []int64{0, 2, 1, 3}
		oshape = []int64{nb, ch / (b * b), h * b, w * b}
	}
	t, err := c.target(n.Output[0], false)
	if err != nil {
		return err
	}
	src := c.out.Tensors[x.tensor]
	reshape := func(from int, shape []int64, q *Quant, typ TensorType) int {
		to := c.addTensor(&Tensor{Name: fmt.Sprintf("%s_view%d", n.GetName(), len(c.out.Tensors)), Type: typ, Shape: toInt32s(shape), Quant: q})
		c.addOp(OpReshape, []int{from, c.int32Const(fmt.Sprintf("%s_shape%d", n.GetName(), len(c.out.Tensors)), []int32{int32(len(shape))}, shape)}, []int{to},
			&Options{Type: OptReshape, Vectors: map[int][]int32{0: toInt32s(shape)}})
		return to
	}
	v := reshape(x.tensor, view, src.Quant, src.Type)
	tshape := make([]int64, len(view))
	for i, p := range perm {
		tshape[i] = view[p]
	}
	tr := c.addTensor(&Tensor{Name: n.GetName() + "_transposed", Type: src.Type, Shape: toInt32s(tshape), Quant: src.Quant})
	c.addOp(OpTranspose, []int{v, c.int32Const(n.GetName()+"_perm", []int32{int32(len(perm))}, perm)}, []int{tr}, newOptions(OptTranspose))
	if !sameQuant(src.Quant, t.qnt) || src.Type != t.typ {
		tr = c.quantizeTo(n, tr, t.qnt, t.typ)
	}
	c.reshapeTo(n, tr, oshape, true, t)
	return nil
}
