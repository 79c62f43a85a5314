package kernels

import (
	"math"

	"gorgonia.org/tensor"
)

// PoolParams are the attributes of MaxPool and AveragePool.
type PoolParams struct {
	Window
	CeilMode        bool
	CountIncludePad bool // AveragePool: divide by the window size within the padded input
}

// MaxPool is ONNX MaxPool (1-D to 3-D) on float32, int8 or uint8 input. Padding
// never wins the max. Only the Y output is produced.
func MaxPool(x *tensor.Dense, p PoolParams) (*tensor.Dense, error) { return MaxPoolWith(nil, x, p) }

// MaxPoolWith is MaxPool writing a float32 result into a buffer from alloc.
func MaxPoolWith(alloc Alloc, x *tensor.Dense, p PoolParams) (*tensor.Dense, error) {
	const op = "MaxPool"
	if x == nil {
		return nil, shapeErr(op, "missing input")
	}
	sh := Dims(x)
	if len(sh) < 3 {
		return nil, shapeErr(op, "input %v must have rank 3 to 5", sh)
	}
	g, err := p.Window.resolve(op, sh[2:], p.Kernel, p.CeilMode)
	if err != nil {
		return nil, err
	}
	nc := sh[0] * sh[1]
	var out any
	switch s := raw(x).(type) {
	case []float32:
		out = maxPoolT(allocT[float32](alloc, nc*g.outSize()), s, nc, g, float32(math.Inf(-1)))
	case []float64:
		out = maxPoolT(make([]float64, nc*g.outSize()), s, nc, g, math.Inf(-1))
	case []uint8:
		out = maxPoolT(make([]uint8, nc*g.outSize()), s, nc, g, 0)
	case []int8:
		out = maxPoolT(make([]int8, nc*g.outSize()), s, nc, g, math.MinInt8)
	default:
		return nil, dtypeErr(op, s)
	}
	return New(g.outShape(sh[0], sh[1]), out)
}

// maxPoolT fills out (nc*P elements, every one written) and returns it.
func maxPoolT[T float32 | float64 | uint8 | int8](out, x []T, nc int, g geom, lowest T) []T {
	I, P := g.inSize(), g.outSize()
	H, W := g.in[1], g.in[2]
	for c := 0; c < nc; c++ {
		xc := x[c*I : (c+1)*I]
		oc := out[c*P : (c+1)*P]
		o := 0
		for od := 0; od < g.out[0]; od++ {
			for oh := 0; oh < g.out[1]; oh++ {
				for ow := 0; ow < g.out[2]; ow++ {
					m := lowest
					seen := false
					for kd := 0; kd < g.k[0]; kd++ {
						id := od*g.s[0] - g.pb[0] + kd*g.d[0]
						if id < 0 || id >= g.in[0] {
							continue
						}
						for kh := 0; kh < g.k[1]; kh++ {
							ih := oh*g.s[1] - g.pb[1] + kh*g.d[1]
							if ih < 0 || ih >= H {
								continue
							}
							row := xc[(id*H+ih)*W:]
							for kw := 0; kw < g.k[2]; kw++ {
								iw := ow*g.s[2] - g.pb[2] + kw*g.d[2]
								if iw < 0 || iw >= W {
									continue
								}
								v := row[iw]
								if !seen || v > m || v != v {
									m = v
									seen = true
								}
							}
						}
					}
					oc[o] = m
					o++
				}
			}
		}
	}
	return out
}

// AveragePool is ONNX AveragePool (1-D to 3-D, float32). Without
// CountIncludePad the divisor counts only real input elements; with it, every
// tap inside the padded input counts (taps past it, from ceil_mode, do not).
func AveragePool(x *tensor.Dense, p PoolParams) (*tensor.Dense, error) {
	const op = "AveragePool"
	xs, sh, err := f32in(op, x)
	if err != nil {
		return nil, err
	}
	if len(sh) < 3 {
		return nil, shapeErr(op, "input %v must have rank 3 to 5", sh)
	}
	g, err := p.Window.resolve(op, sh[2:], p.Kernel, p.CeilMode)
	if err != nil {
		return nil, err
	}
	nc := sh[0] * sh[1]
	I, P := g.inSize(), g.outSize()
	H, W := g.in[1], g.in[2]
	out := make([]float32, nc*P)
	// Divisors depend only on the output position: compute them once.
	div := make([]float32, P)
	o := 0
	for od := 0; od < g.out[0]; od++ {
		for oh := 0; oh < g.out[1]; oh++ {
			for ow := 0; ow < g.out[2]; ow++ {
				cnt := 1
				for a, oi := range [3]int{od, oh, ow} {
					n := 0
					for kk := 0; kk < g.k[a]; kk++ {
						i := oi*g.s[a] - g.pb[a] + kk*g.d[a]
						if p.CountIncludePad {
							if i < g.in[a]+g.pe[a] {
								n++
							}
						} else if i >= 0 && i < g.in[a] {
							n++
						}
					}
					cnt *= n
				}
				div[o] = float32(max(cnt, 1))
				o++
			}
		}
	}
	for c := 0; c < nc; c++ {
		xc := xs[c*I : (c+1)*I]
		oc := out[c*P : (c+1)*P]
		o := 0
		for od := 0; od < g.out[0]; od++ {
			for oh := 0; oh < g.out[1]; oh++ {
				for ow := 0; ow < g.out[2]; ow++ {
					var sum float32
					for kd := 0; kd < g.k[0]; kd++ {
						id := od*g.s[0] - g.pb[0] + kd*g.d[0]
						if id < 0 || id >= g.in[0] {
							continue
						}
						for kh := 0; kh < g.k[1]; kh++ {
							ih := oh*g.s[1] - g.pb[1] + kh*g.d[1]
							if ih < 0 || ih >= H {
								continue
							}
							row := xc[(id*H+ih)*W:]
							for kw := 0; kw < g.k[2]; kw++ {
								iw := ow*g.s[2] - g.pb[2] + kw*g.d[2]
								if iw >= 0 && iw < W {
									sum += row[iw]
								}
							}
						}
					}
					oc[o] = sum / div[o]
					o++
				}
			}
		}
	}
	return New(g.outShape(sh[0], sh[1]), out)
}

// GlobalAveragePool averages each [n, c] plane: output [N, C, 1, ...].
func GlobalAveragePool(x *tensor.Dense) (*tensor.Dense, error) {
	return globalPool(nil, "GlobalAveragePool", x, false)
}

// GlobalAveragePoolWith is GlobalAveragePool writing into a buffer from alloc.
func GlobalAveragePoolWith(alloc Alloc, x *tensor.Dense) (*tensor.Dense, error) {
	return globalPool(alloc, "GlobalAveragePool", x, false)
}

// GlobalMaxPool takes the max of each [n, c] plane: output [N, C, 1, ...].
func GlobalMaxPool(x *tensor.Dense) (*tensor.Dense, error) {
	return globalPool(nil, "GlobalMaxPool", x, true)
}

func globalPool(alloc Alloc, op string, x *tensor.Dense, isMax bool) (*tensor.Dense, error) {
	xs, sh, err := f32in(op, x)
	if err != nil {
		return nil, err
	}
	if len(sh) < 3 {
		return nil, shapeErr(op, "input %v must have rank >= 3", sh)
	}
	nc, I := sh[0]*sh[1], prod(sh[2:])
	out := alloc.f32(nc)
	for c := range out {
		plane := xs[c*I : (c+1)*I]
		if isMax {
			m := plane[0]
			for _, v := range plane[1:] {
				if v > m || v != v {
					m = v
				}
			}
			out[c] = m
			continue
		}
		var s float64
		for _, v := range plane {
			s += float64(v)
		}
		out[c] = float32(s / float64(I))
	}
	osh := []int{sh[0], sh[1]}
	for range sh[2:] {
		osh = append(osh, 1)
	}
	return New(osh, out)
}
