package qpass

import (
	"math"

	"github.com/onnxquant/onnxquant/lower"
)

const divToMulDoc = `Turn float Div into Mul: by the reciprocal of a constant divisor, otherwise by Reciprocal of the divisor.

Ethos-U has no quantized division. As ExecuTorch's DecomposeDivPass does, a
division becomes a multiplication; a constant divisor's reciprocal is
computed here in float32 (a new constant, so a shared divisor is left
intact), a computed divisor goes through a Reciprocal node that becomes a
table lookup once quantized.`

// DivToMul rewrites float Div nodes.
func DivToMul(gm *lower.GraphModule, ctx *PassContext) (bool, error) {
	return eachNode(gm, func(n *lower.Node) (bool, error) {
		if n.Target.Domain != "" || n.Target.OpType != "Div" || len(n.Inputs) != 2 || !ctx.quantized(n) {
			return false, nil
		}
		a, b := n.Inputs[0], n.Inputs[1]
		if !floatTyped(a) && !floatTyped(b) {
			return false, nil
		}
		e := lower.NewEmitter(n, n.Graph().Module.Opset(""))
		var r *lower.Value
		if f, dims, ok := b.ConstantFloats(); ok {
			inv := make([]float32, len(f))
			for i, x := range f {
				inv[i] = float32(1 / float64(x))
				if x == 0 {
					inv[i] = float32(math.Copysign(math.Inf(1), float64(x)))
				}
			}
			r = e.Floats("reciprocal", dims, inv)
		} else {
			r = e.Op("Reciprocal", []*lower.Value{b})
		}
		y := e.Op("Mul", []*lower.Value{a, r})
		e.Replace(0, y)
		e.Done()
		return true, nil
	})
}
