package qpass

import (
	"github.com/onnxquant/onnxquant/lower"
)

const decomposeGRUDoc = `Unroll GRU over its (static) time steps into MatMul, Add, Sub, Split, Sigmoid, Tanh, Mul and Concat.

As for LSTM (ExecuTorch's DecomposeGruPass): one MatMul projects the input of
all steps; each step computes z and r from MatMul(h, R_zr^T), the candidate
from MatMul(r*h, R_h^T) (or r*(MatMul(h, R_h^T) + Rb_h) with
linear_before_reset), and h = hc + z*(h - hc), which equals
(1-z)*hc + z*h without a constant 1 to quantize. The sequence length must
be known.`

// DecomposeGRU unrolls GRU nodes.
func DecomposeGRU(gm *lower.GraphModule, ctx *PassContext) (bool, error) {
	return eachNode(gm, func(n *lower.Node) (bool, error) {
		if n.Target.Domain != "" || n.Target.OpType != "GRU" || !ctx.quantized(n) {
			return false, nil
		}
		rc, err := newRecurrence(n, 3, []string{"Sigmoid", "Tanh"})
		if err != nil {
			return false, err
		}
		gruUnroll(rc, n.AttrInt("linear_before_reset", 0) != 0)
		return true, nil
	})
}

func gruUnroll(rc *recurrence, lbr bool) {
	e := rc.e
	H := rc.hidden
	hs := make([][]*lower.Value, rc.dirs)
	finalH := make([]*lower.Value, rc.dirs)
	for d := range rc.dirs {
		var bias, rbh []float32
		if rc.b != nil {
			off := d * 6 * H
			bias = make([]float32, 3*H)
			for i := range bias {
				bias[i] = rc.b[off+i]
				if i < 2*H || !lbr {
					bias[i] += rc.b[off+3*H+i]
				}
			}
			rbh = rc.b[off+5*H : off+6*H]
		}
		steps := rc.inputProjection(d, 3, bias)
		rzr := rc.recurrentWeight(d, 3, 0, 2*H)
		rh := rc.recurrentWeight(d, 3, 2*H, 3*H)
		var rbhV *lower.Value
		if lbr && rbh != nil {
			rbhV = e.Floats("Rb_h", []int64{int64(H)}, rbh)
		}
		h := rc.initialState(5, d)
		hs[d] = make([]*lower.Value, rc.seq)
		for _, t := range rc.order(d) {
			parts := e.Split(steps[t], 2, []int64{int64(H), int64(H), int64(H)})
			z, r, xh := parts[0], parts[1], parts[2]
			var hh *lower.Value // the recurrent part of the candidate
			if h != nil {
				zr := e.Split(e.Op("MatMul", []*lower.Value{h, rzr}), 2, []int64{int64(H), int64(H)})
				z = e.Op("Add", []*lower.Value{z, zr[0]})
				r = e.Op("Add", []*lower.Value{r, zr[1]})
			}
			z = e.Op("Sigmoid", []*lower.Value{z})
			if h != nil || rbhV != nil {
				r = e.Op("Sigmoid", []*lower.Value{r})
			}
			switch {
			case lbr && h != nil:
				lin := e.Op("MatMul", []*lower.Value{h, rh})
				if rbhV != nil {
					lin = e.Op("Add", []*lower.Value{lin, rbhV})
				}
				hh = e.Op("Mul", []*lower.Value{r, lin})
			case lbr && rbhV != nil:
				hh = e.Op("Mul", []*lower.Value{r, rbhV})
			case h != nil:
				hh = e.Op("MatMul", []*lower.Value{e.Op("Mul", []*lower.Value{r, h}), rh})
			}
			cand := xh
			if hh != nil {
				cand = e.Op("Add", []*lower.Value{xh, hh})
			}
			cand = e.Op("Tanh", []*lower.Value{cand})
			if h != nil {
				h = e.Op("Add", []*lower.Value{cand, e.Op("Mul", []*lower.Value{z, e.Op("Sub", []*lower.Value{h, cand})})})
			} else {
				h = e.Op("Sub", []*lower.Value{cand, e.Op("Mul", []*lower.Value{z, cand})})
			}
			hs[d][t] = h
		}
		finalH[d] = h
	}
	rc.finish(hs, [][]*lower.Value{finalH})
}
