package qpass

import (
	"github.com/onnxquant/onnxquant/lower"
)

const decomposeLSTMDoc = `Unroll LSTM over its (static) time steps into MatMul, Add, Split, Sigmoid, Tanh, Mul and Concat.

Ethos-U's TOSA path has no recurrent operator; ExecuTorch's DecomposeLstmPass
unrolls it so every gate is an ordinary quantized operator. The input
projection of all steps is one MatMul by W^T (plus both biases); each step
adds MatMul(h, R^T), splits the four gates (ONNX order i, o, f, c), and
computes c = f*c + i*tanh(g), h = o*tanh(c), with peepholes when given.
Forward, reverse and bidirectional LSTMs, layout 0 and 1, initial states and
all three outputs are handled; an absent initial state is zero, so the first
step skips the terms it would multiply. The sequence length must be known.`

// DecomposeLSTM unrolls LSTM nodes.
func DecomposeLSTM(gm *lower.GraphModule, ctx *PassContext) (bool, error) {
	return eachNode(gm, func(n *lower.Node) (bool, error) {
		if n.Target.Domain != "" || n.Target.OpType != "LSTM" || !ctx.quantized(n) {
			return false, nil
		}
		rc, err := newRecurrence(n, 4, []string{"Sigmoid", "Tanh", "Tanh"})
		if err != nil {
			return false, err
		}
		var peep []float32
		if len(n.Inputs) > 7 && n.Inputs[7] != nil {
			p, _, ok := n.Inputs[7].ConstantFloats()
			if !ok || len(p) != rc.dirs*3*rc.hidden {
				return false, unsupported(n, "peepholes P must be a constant float tensor of shape [%d, %d]", rc.dirs, 3*rc.hidden)
			}
			peep = p
		}
		lstmUnroll(rc, peep)
		return true, nil
	})
}

func lstmUnroll(rc *recurrence, peep []float32) {
	e := rc.e
	H := rc.hidden
	hs := make([][]*lower.Value, rc.dirs)
	finalH := make([]*lower.Value, rc.dirs)
	finalC := make([]*lower.Value, rc.dirs)
	for d := range rc.dirs {
		var bias []float32
		if rc.b != nil {
			off := d * 8 * H
			bias = make([]float32, 4*H)
			for i := range bias {
				bias[i] = rc.b[off+i] + rc.b[off+4*H+i]
			}
		}
		steps := rc.inputProjection(d, 4, bias)
		rt := rc.recurrentWeight(d, 4, 0, 4*H)
		var pi, po, pf *lower.Value
		if peep != nil {
			off := d * 3 * H
			pi = e.Floats("P_i", []int64{int64(H)}, peep[off:off+H])
			po = e.Floats("P_o", []int64{int64(H)}, peep[off+H:off+2*H])
			pf = e.Floats("P_f", []int64{int64(H)}, peep[off+2*H:off+3*H])
		}
		h := rc.initialState(5, d)
		c := rc.initialState(6, d)
		hs[d] = make([]*lower.Value, rc.seq)
		for _, t := range rc.order(d) {
			gates := steps[t]
			if h != nil {
				gates = e.Op("Add", []*lower.Value{gates, e.Op("MatMul", []*lower.Value{h, rt})})
			}
			parts := e.Split(gates, 2, []int64{int64(H), int64(H), int64(H), int64(H)})
			i, o, f, g := parts[0], parts[1], parts[2], parts[3]
			if pi != nil && c != nil {
				i = e.Op("Add", []*lower.Value{i, e.Op("Mul", []*lower.Value{c, pi})})
				f = e.Op("Add", []*lower.Value{f, e.Op("Mul", []*lower.Value{c, pf})})
			}
			i = e.Op("Sigmoid", []*lower.Value{i})
			g = e.Op("Tanh", []*lower.Value{g})
			ig := e.Op("Mul", []*lower.Value{i, g})
			if c != nil {
				f = e.Op("Sigmoid", []*lower.Value{f})
				c = e.Op("Add", []*lower.Value{e.Op("Mul", []*lower.Value{f, c}), ig})
			} else {
				c = ig
			}
			if po != nil {
				o = e.Op("Add", []*lower.Value{o, e.Op("Mul", []*lower.Value{c, po})})
			}
			o = e.Op("Sigmoid", []*lower.Value{o})
			h = e.Op("Mul", []*lower.Value{o, e.Op("Tanh", []*lower.Value{c})})
			hs[d][t] = h
		}
		finalH[d], finalC[d] = h, c
	}
	rc.finish(hs, [][]*lower.Value{finalH, finalC})
}
