package qpass

import (
	"github.com/onnxquant/onnxquant/lower"
)

const decomposeLayerNormDoc = `Decompose LayerNormalization, GroupNormalization and InstanceNormalization into reductions and elementwise ops.

Ethos-U has no normalisation operator, so, as ExecuTorch's
DecomposeLayerNormPass and DecomposeGroupNormPass do, each becomes
mean = ReduceMean(x), d = x - mean, var = ReduceMean(d*d),
inv = Pow(var + eps, -0.5), y = d*inv*gamma + beta, and every piece gets its
own quantization parameters. ONNX has no Rsqrt; Pow with a constant -0.5
exponent is one table lookup once quantized, where Sqrt then Reciprocal would
be two. GroupNormalization normalises a (N, groups, -1) reshape of x;
InstanceNormalization is normalisation over the spatial axes.`

// DecomposeLayerNorm decomposes the normalisation operators.
func DecomposeLayerNorm(gm *lower.GraphModule, ctx *PassContext) (bool, error) {
	return eachNode(gm, func(n *lower.Node) (bool, error) {
		if n.Target.Domain != "" || !ctx.quantized(n) || !floatTyped(n.Inputs[0]) {
			return false, nil
		}
		switch n.Target.OpType {
		case "LayerNormalization":
			return decomposeLayerNorm(n), nil
		case "GroupNormalization":
			return decomposeGroupNorm(n), nil
		case "InstanceNormalization":
			return decomposeInstanceNorm(n), nil
		}
		return false, nil
	})
}

// normalize emits (x - mean) * (var + eps)^-0.5 over axes and returns the
// result with the mean and the inverse standard deviation (keepdims).
func normalize(e *emitter, x *lower.Value, axes []int64, eps float32, rank int) (y, mean, inv *lower.Value) {
	mean = e.reduce("ReduceMean", x, axes)
	d := e.op("Sub", []*lower.Value{x, mean})
	sq := e.op("Mul", []*lower.Value{d, d})
	variance := e.reduce("ReduceMean", sq, axes)
	ve := e.op("Add", []*lower.Value{variance, e.scalar("epsilon", eps, rank)})
	inv = e.op("Pow", []*lower.Value{ve, e.floats("exponent", nil, []float32{-0.5})})
	y = e.op("Mul", []*lower.Value{d, inv})
	return y, mean, inv
}

func decomposeLayerNorm(n *lower.Node) bool {
	x := n.Inputs[0]
	axis := n.AttrInt("axis", -1)
	rank, known := rankOf(x)
	if axis >= 0 {
		if !known {
			return false
		}
		axis -= int64(rank)
	}
	if !known {
		// Without the rank the epsilon constant stays 0-d; it still
		// broadcasts correctly.
		rank = 0
	}
	var axes []int64
	for a := axis; a < 0; a++ {
		axes = append(axes, a)
	}
	e := newEmitter(n)
	y, mean, inv := normalize(e, x, axes, n.AttrFloat("epsilon", 1e-5), rank)
	if len(n.Inputs) > 1 && n.Inputs[1] != nil {
		y = e.op("Mul", []*lower.Value{y, n.Inputs[1]})
	}
	if len(n.Inputs) > 2 && n.Inputs[2] != nil {
		y = e.op("Add", []*lower.Value{y, n.Inputs[2]})
	}
	e.replace(0, y)
	if len(n.Outputs) > 1 {
		e.replace(1, mean)
	}
	if len(n.Outputs) > 2 {
		e.replace(2, inv)
	}
	e.done()
	return true
}

// channelConst reshapes a constant per-channel vector to (C,1,...,1) for
// an input of the given rank.
func channelConst(e *emitter, suffix string, data []float32, rank int) *lower.Value {
	return e.floats(suffix, append([]int64{int64(len(data))}, ones(rank-2)...), data)
}

func decomposeGroupNorm(n *lower.Node) bool {
	x := n.Inputs[0]
	rank, ok := rankOf(x)
	c, okC := dimOf(x, 1)
	groups := n.AttrInt("num_groups", 0)
	if !ok || !okC || rank < 3 || groups <= 0 || c%groups != 0 || len(n.Inputs) < 3 {
		return false
	}
	scale, _, ok1 := constFloats(n.Inputs[1])
	bias, _, ok2 := constFloats(n.Inputs[2])
	if !ok1 || !ok2 || len(scale) != len(bias) {
		return false
	}
	// Opset 18 gives scale and bias per group, opset 21 per channel.
	if int64(len(scale)) == groups && groups != c {
		per := c / groups
		s, b := make([]float32, c), make([]float32, c)
		for i := range s {
			s[i], b[i] = scale[int64(i)/per], bias[int64(i)/per]
		}
		scale, bias = s, b
	}
	if int64(len(scale)) != c {
		return false
	}
	e := newEmitter(n)
	grouped := e.op("Reshape", []*lower.Value{x, e.ints("group_shape", []int64{3}, []int64{0, groups, -1})})
	y, _, _ := normalize(e, grouped, []int64{2}, n.AttrFloat("epsilon", 1e-5), 3)
	y = e.op("Reshape", []*lower.Value{y, e.op("Shape", []*lower.Value{x})})
	y = e.op("Mul", []*lower.Value{y, channelConst(e, "scale", scale, rank)})
	y = e.op("Add", []*lower.Value{y, channelConst(e, "bias", bias, rank)})
	e.replace(0, y)
	e.done()
	return true
}

func decomposeInstanceNorm(n *lower.Node) bool {
	x := n.Inputs[0]
	rank, ok := rankOf(x)
	if !ok || rank < 3 || len(n.Inputs) < 3 {
		return false
	}
	scale, _, ok1 := constFloats(n.Inputs[1])
	bias, _, ok2 := constFloats(n.Inputs[2])
	if !ok1 || !ok2 || len(scale) != len(bias) {
		return false
	}
	var axes []int64
	for a := 2; a < rank; a++ {
		axes = append(axes, int64(a))
	}
	e := newEmitter(n)
	y, _, _ := normalize(e, x, axes, n.AttrFloat("epsilon", 1e-5), rank)
	y = e.op("Mul", []*lower.Value{y, channelConst(e, "scale", scale, rank)})
	y = e.op("Add", []*lower.Value{y, channelConst(e, "bias", bias, rank)})
	e.replace(0, y)
	e.done()
	return true
}
