package qpass

import (
	"github.com/onnxquant/onnxquant/lower"
)

const decomposeSoftmaxDoc = `Decompose Softmax and LogSoftmax into ReduceMax, Sub, Exp, ReduceSum, Reciprocal and Mul (then Log), where the target needs it.

ExecuTorch's TOSA path has no softmax operator: DecomposeSoftmaxPass writes
the numerically stable form exp(x - max) * 1/sum(exp(x - max)) so Exp and
Reciprocal become table lookups and every piece has its own quantization
parameters; log_softmax adds a Log of that product. Only done when the
target asks for it (PassContext.NeedsDecomposition.Softmax).`

// DecomposeSoftmax decomposes Softmax and LogSoftmax of opset 13 and later,
// and of earlier opsets when the axis is the last one (where the old 2-D
// coercion means the same thing).
func DecomposeSoftmax(gm *lower.GraphModule, ctx *PassContext) (bool, error) {
	if !ctx.NeedsDecomposition.Softmax {
		return false, nil
	}
	return eachNode(gm, func(n *lower.Node) (bool, error) {
		op := n.Target.OpType
		if n.Target.Domain != "" || (op != "Softmax" && op != "LogSoftmax") || !ctx.quantized(n) || !floatTyped(n.Inputs[0]) {
			return false, nil
		}
		x := n.Inputs[0]
		rank, known := rankOf(x)
		axis := n.AttrInt("axis", -1)
		if n.Target.Version < 13 {
			axis = n.AttrInt("axis", 1)
			if !known || (axis != -1 && axis != int64(rank-1)) {
				return false, nil
			}
		}
		if axis >= 0 {
			if !known {
				return false, nil
			}
			axis -= int64(rank)
		}
		e := lower.NewEmitter(n, n.Graph().Module.Opset(""))
		m := e.Reduce("ReduceMax", x, []int64{axis})
		d := e.Op("Sub", []*lower.Value{x, m})
		ex := e.Op("Exp", []*lower.Value{d})
		s := e.Reduce("ReduceSum", ex, []int64{axis})
		r := e.Op("Reciprocal", []*lower.Value{s})
		y := e.Op("Mul", []*lower.Value{ex, r})
		if op == "LogSoftmax" {
			y = e.Op("Log", []*lower.Value{y})
		}
		e.Replace(0, y)
		e.Done()
		return true, nil
	})
}
