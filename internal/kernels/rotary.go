package kernels

import (
	"math"

	"gorgonia.org/tensor"
)

// RMSNormalization is ONNX RMSNormalization (opset 23): x divided by the
// root mean square of its values over dims [axis, rank) plus epsilon, times
// scale (broadcast to those dims). The statistics are float64.
func RMSNormalization(x, scale *tensor.Dense, axis int, epsilon float32) (*tensor.Dense, error) {
	const op = "RMSNormalization"
	xs, sh, err := f32in(op, x)
	if err != nil {
		return nil, err
	}
	if axis, err = normAxis(op, axis, len(sh)); err != nil {
		return nil, err
	}
	norm := sh[axis:]
	inner := prod(norm)
	sc, err := paramTo(op, scale, norm)
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(xs))
	if inner > 0 {
		for o := 0; o < len(xs)/inner; o++ {
			src, dst := xs[o*inner:(o+1)*inner], out[o*inner:(o+1)*inner]
			var ss float64
			for _, v := range src {
				ss += float64(v) * float64(v)
			}
			inv := 1 / math.Sqrt(ss/float64(inner)+float64(epsilon))
			for i, v := range src {
				dst[i] = float32(float64(v)*inv) * sc[i]
			}
		}
	}
	return New(sh, out)
}

// RotaryEmbedding is ONNX RotaryEmbedding (opset 23). x is (batch, heads,
// seq, head) or, with numHeads, (batch, seq, hidden); cos and sin are
// (maxPosition, rotaryDim/2) indexed by positions (batch, seq), or
// (batch, seq, rotaryDim/2) when positions is nil. The first rotaryDim
// values of each head (all when rotaryDim is 0) are rotated in pairs: the
// two halves, or even and odd positions when interleaved.
func RotaryEmbedding(x, cos, sin, positions *tensor.Dense, interleaved bool, numHeads, rotaryDim int) (*tensor.Dense, error) {
	const op = "RotaryEmbedding"
	xs, sh, err := f32in(op, x)
	if err != nil {
		return nil, err
	}
	cs, csh, err := f32in(op, cos)
	if err != nil {
		return nil, err
	}
	ss, ssh, err := f32in(op, sin)
	if err != nil {
		return nil, err
	}
	if !equalInts(csh, ssh) {
		return nil, shapeErr(op, "cos_cache %v and sin_cache %v differ", csh, ssh)
	}
	var batch, seq, heads, head int
	switch len(sh) {
	case 4:
		batch, heads, seq, head = sh[0], sh[1], sh[2], sh[3]
	case 3:
		if numHeads <= 0 || sh[2]%numHeads != 0 {
			return nil, shapeErr(op, "a 3-D input %v needs num_heads dividing its last axis (num_heads=%d)", sh, numHeads)
		}
		batch, seq, heads, head = sh[0], sh[1], numHeads, sh[2]/numHeads
	default:
		return nil, shapeErr(op, "input %v must have rank 3 or 4", sh)
	}
	if rotaryDim == 0 {
		rotaryDim = head
	}
	if rotaryDim < 0 || rotaryDim > head || rotaryDim%2 != 0 {
		return nil, shapeErr(op, "rotary_embedding_dim %d for head size %d", rotaryDim, head)
	}
	half := rotaryDim / 2
	// row(b, s) is the offset of the cache row for batch b, position s.
	var row func(b, s int) int
	if positions != nil {
		pos, err := Ints(positions)
		if err != nil {
			return nil, shapeErr(op, "position_ids: %v", err)
		}
		if psh := Dims(positions); !equalInts(psh, []int{batch, seq}) {
			return nil, shapeErr(op, "position_ids %v, want [%d %d]", psh, batch, seq)
		}
		if len(csh) != 2 || csh[1] != half {
			return nil, shapeErr(op, "cos_cache %v, want [max_position, %d]", csh, half)
		}
		for _, p := range pos {
			if p < 0 || p >= csh[0] {
				return nil, shapeErr(op, "position id %d out of range [0, %d)", p, csh[0])
			}
		}
		row = func(b, s int) int { return pos[b*seq+s] * half }
	} else {
		if !equalInts(csh, []int{batch, seq, half}) {
			return nil, shapeErr(op, "cos_cache %v, want [%d %d %d]", csh, batch, seq, half)
		}
		row = func(b, s int) int { return (b*seq + s) * half }
	}
	out := make([]float32, len(xs))
	copy(out, xs)
	for b := 0; b < batch; b++ {
		for h := 0; h < heads; h++ {
			for s := 0; s < seq; s++ {
				var base int
				if len(sh) == 4 {
					base = ((b*heads+h)*seq + s) * head
				} else {
					base = (b*seq+s)*heads*head + h*head
				}
				r := row(b, s)
				for i := 0; i < half; i++ {
					i1, i2 := base+i, base+half+i
					if interleaved {
						i1, i2 = base+2*i, base+2*i+1
					}
					x1, x2, c, sn := xs[i1], xs[i2], cs[r+i], ss[r+i]
					out[i1] = x1*c - x2*sn
					out[i2] = x1*sn + x2*c
				}
			}
		}
	}
	return New(sh, out)
}
