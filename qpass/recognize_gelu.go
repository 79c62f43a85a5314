package qpass

import (
	"math"

	"github.com/onnxquant/onnxquant/lower"
)

const recognizeGeluDoc = `Replace the exporters' Erf form of GELU, x*0.5*(1+Erf(x/sqrt(2))), by one Gelu node (opset 20 and later).

ExecuTorch keeps gelu as one operator, annotated with one input and one
output quantization parameter and lowered to a single table lookup; the
written-out form would instead quantize five intermediate tensors and lose
accuracy at each. The pattern is matched in every order exporters write it:
Div by 1.4142 or Mul by 0.7071, Add of 1 on either side, and the 0.5 factor
applied to x, to the sum or to the product. Gelu exists in the default
domain only from opset 20, so at lower opsets (int8 at opset 13) the pattern
stays written out rather than binding to a contrib operator that other
tools may not run.`

// RecognizeGelu fuses the Erf pattern of GELU into Gelu nodes.
func RecognizeGelu(gm *lower.GraphModule, ctx *PassContext) (bool, error) {
	if gm.Opset("") < 20 {
		return false, nil
	}
	return eachNode(gm, func(n *lower.Node) (bool, error) {
		if n.Target.Domain != "" || n.Target.OpType != "Erf" || !ctx.quantized(n) {
			return false, nil
		}
		x, out, ok := matchGelu(n)
		if !ok {
			return false, nil
		}
		e := lower.NewEmitter(out, out.Graph().Module.Opset(""))
		y := e.Op("Gelu", []*lower.Value{x})
		e.Replace(0, y)
		e.Done()
		return true, nil
	})
}

// soleUser returns the only node reading v, when there is exactly one and v
// is not a graph output.
func soleUser(v *lower.Value) *lower.Node {
	g := v.Producer.Graph()
	users := g.Users(v)
	if len(users) != 1 || isOutputOf(g, v) || users[0].Op != lower.CallFunction || users[0].Target.Domain != "" {
		return nil
	}
	return users[0]
}

// otherInput returns the input of a binary node that is not v.
func otherInput(n *lower.Node, v *lower.Value) *lower.Value {
	if len(n.Inputs) != 2 {
		return nil
	}
	switch v {
	case n.Inputs[0]:
		return n.Inputs[1]
	case n.Inputs[1]:
		return n.Inputs[0]
	}
	return nil
}

func isConstNear(v *lower.Value, want float32, rel float64) bool {
	f, ok := constScalar(v)
	return ok && near(f, want, rel)
}

// matchGelu finds x and the node whose output is GELU(x), starting at the
// Erf node.
func matchGelu(erf *lower.Node) (x *lower.Value, out *lower.Node, ok bool) {
	scaled := erf.Inputs[0]
	sp := scaled.Producer
	if sp == nil || sp.Op != lower.CallFunction || sp.Target.Domain != "" || len(sp.Inputs) != 2 || soleUser(scaled) != erf {
		return nil, nil, false
	}
	switch sp.Target.OpType {
	case "Div":
		if !isConstNear(sp.Inputs[1], math.Sqrt2, 1e-3) {
			return nil, nil, false
		}
		x = sp.Inputs[0]
	case "Mul":
		switch {
		case isConstNear(sp.Inputs[1], 1/math.Sqrt2, 1e-3):
			x = sp.Inputs[0]
		case isConstNear(sp.Inputs[0], 1/math.Sqrt2, 1e-3):
			x = sp.Inputs[1]
		default:
			return nil, nil, false
		}
	default:
		return nil, nil, false
	}
	add := soleUser(erf.Outputs[0])
	if add == nil || add.Target.OpType != "Add" || !isConstNear(otherInput(add, erf.Outputs[0]), 1, 1e-6) {
		return nil, nil, false
	}
	m1 := soleUser(add.Outputs[0])
	if m1 == nil || m1.Target.OpType != "Mul" {
		return nil, nil, false
	}
	o1 := otherInput(m1, add.Outputs[0])
	switch {
	case o1 == x:
		// (x * (1+erf)) * 0.5
		m2 := soleUser(m1.Outputs[0])
		if m2 != nil && m2.Target.OpType == "Mul" && isConstNear(otherInput(m2, m1.Outputs[0]), 0.5, 1e-6) {
			return x, m2, true
		}
	case isConstNear(o1, 0.5, 1e-6):
		// ((1+erf) * 0.5) * x
		m2 := soleUser(m1.Outputs[0])
		if m2 != nil && m2.Target.OpType == "Mul" && otherInput(m2, m1.Outputs[0]) == x {
			return x, m2, true
		}
	case o1 != nil && o1.Producer != nil && o1.Producer.Target.OpType == "Mul" && o1.Producer.Op == lower.CallFunction && soleUser(o1) == m1:
		// (x * 0.5) * (1+erf)
		h := o1.Producer
		if (h.Inputs[0] == x && isConstNear(h.Inputs[1], 0.5, 1e-6)) || (h.Inputs[1] == x && isConstNear(h.Inputs[0], 0.5, 1e-6)) {
			return x, m1, true
		}
	}
	return nil, nil, false
}
