package kernels

import (
	"math"

	"gorgonia.org/tensor"
)

// AttentionParams are the Attention attributes the kernel follows.
type AttentionParams struct {
	QHeads, KVHeads int // for 3-D inputs
	Scale           float32
	Causal          bool
}

// Attention is ONNX Attention (opset 23) without past key/value inputs,
// softcap or grouped heads: Softmax(Q·Kᵀ·scale + mask)·V per head. Q, K, V
// are (batch, heads, seq, head size) or, with QHeads and KVHeads,
// (batch, seq, heads·head size); mask (nil when absent) is a float
// (added) or bool (false masks out) tensor broadcast to (batch, heads,
// qseq, kvseq); Causal masks out keys after the query's position. The
// result has Q's layout, with V's head size.
func Attention(q, k, v, mask *tensor.Dense, p AttentionParams) (*tensor.Dense, error) {
	const op = "Attention"
	qs, qsh, err := f32in(op, q)
	if err != nil {
		return nil, err
	}
	ks, ksh, err := f32in(op, k)
	if err != nil {
		return nil, err
	}
	vs, vsh, err := f32in(op, v)
	if err != nil {
		return nil, err
	}
	if len(qsh) != len(ksh) || len(qsh) != len(vsh) || (len(qsh) != 3 && len(qsh) != 4) {
		return nil, shapeErr(op, "Q %v, K %v, V %v: want all rank 3 or all rank 4", qsh, ksh, vsh)
	}
	// Strides of element (b, h, s, d) in a 4-D or head-split 3-D tensor.
	type layout struct{ heads, seq, head, sb, sh, ss int }
	lay := func(sh []int, heads int) (layout, bool) {
		if len(sh) == 4 {
			return layout{sh[1], sh[2], sh[3], sh[1] * sh[2] * sh[3], sh[2] * sh[3], sh[3]}, true
		}
		if heads <= 0 || sh[2]%heads != 0 {
			return layout{}, false
		}
		d := sh[2] / heads
		return layout{heads, sh[1], d, sh[1] * sh[2], d, sh[2]}, true
	}
	lq, ok1 := lay(qsh, p.QHeads)
	lk, ok2 := lay(ksh, p.KVHeads)
	lv, ok3 := lay(vsh, p.KVHeads)
	if !ok1 || !ok2 || !ok3 || lq.heads != lk.heads || lk.heads != lv.heads || lq.head != lk.head || lk.seq != lv.seq ||
		qsh[0] != ksh[0] || ksh[0] != vsh[0] {
		return nil, shapeErr(op, "Q %v, K %v, V %v with %d/%d heads: grouped or inconsistent heads are not supported", qsh, ksh, vsh, p.QHeads, p.KVHeads)
	}
	B, H, S, L, D, Dv := qsh[0], lq.heads, lq.seq, lk.seq, lq.head, lv.head
	var mf []float32
	var mb []bool
	var mstr [4]int
	if mask != nil {
		msh := Dims(mask)
		if len(msh) > 4 {
			return nil, shapeErr(op, "attn_mask %v has rank above 4", msh)
		}
		full := []int{B, H, S, L}
		stride := 1
		for i := len(msh) - 1; i >= 0; i-- {
			a := 4 - len(msh) + i
			switch msh[i] {
			case full[a]:
				mstr[a] = stride
			case 1:
			default:
				return nil, shapeErr(op, "attn_mask %v does not broadcast to %v", msh, full)
			}
			stride *= msh[i]
		}
		switch m := Flat(mask).(type) {
		case []float32:
			mf = m
		case []bool:
			mb = m
		default:
			return nil, shapeErr(op, "attn_mask of type %v", mask.Dtype())
		}
	}
	scale := float64(p.Scale)
	if scale == 0 {
		scale = 1 / math.Sqrt(float64(D))
	}
	oh := Dv * H
	out := make([]float32, B*S*oh)
	scores := make([]float64, L)
	for b := 0; b < B; b++ {
		for h := 0; h < H; h++ {
			for s := 0; s < S; s++ {
				qo := b*lq.sb + h*lq.sh + s*lq.ss
				mx := math.Inf(-1)
				for l := 0; l < L; l++ {
					ko := b*lk.sb + h*lk.sh + l*lk.ss
					var dot float64
					for d := 0; d < D; d++ {
						dot += float64(qs[qo+d]) * float64(ks[ko+d])
					}
					sc := dot * scale
					if mask != nil {
						mi := b*mstr[0] + h*mstr[1] + s*mstr[2] + l*mstr[3]
						if mf != nil {
							sc += float64(mf[mi])
						} else if !mb[mi] {
							sc = math.Inf(-1)
						}
					}
					if p.Causal && l > s {
						sc = math.Inf(-1)
					}
					scores[l] = sc
					mx = math.Max(mx, sc)
				}
				var sum float64
				for l := range scores {
					scores[l] = math.Exp(scores[l] - mx)
					sum += scores[l]
				}
				var oo int
				if len(qsh) == 4 {
					oo = ((b*H+h)*S + s) * Dv
				} else {
					oo = (b*S+s)*oh + h*Dv
				}
				for d := 0; d < Dv; d++ {
					var acc float64
					for l := 0; l < L; l++ {
						acc += scores[l] * float64(vs[b*lv.sb+h*lv.sh+l*lv.ss+d])
					}
					out[oo+d] = float32(acc / sum)
				}
			}
		}
	}
	if len(qsh) == 4 {
		return New([]int{B, H, S, Dv}, out)
	}
	return New([]int{B, S, oh}, out)
}
