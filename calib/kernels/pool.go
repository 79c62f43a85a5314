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
	switch s := Flat(x).(type) {
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
// Every output takes the taps inside the input in (kd, kh, kw) order: the
// first one, then each later one that is greater or NaN.
func maxPoolT[T float32 | float64 | uint8 | int8](out, x []T, nc int, g geom, lowest T) []T {
	if g.in[0] == 1 && g.k[0] == 1 && g.out[0] == 1 {
		return maxPool2D(out, x, nc, g, lowest)
	}
	return maxPool3D(out, x, nc, g, lowest)
}

// maxPool3D is maxPoolT's general loop, testing every tap against the input.
func maxPool3D[T float32 | float64 | uint8 | int8](out, x []T, nc int, g geom, lowest T) []T {
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

// maxPool2D is maxPoolT for 2-D windows (depth 1). The taps inside the
// input form a contiguous range along each axis, worked out once per output
// row and column, so the inner loops carry no bounds tests; the taps are
// visited in the same order with the same rule, so the results are
// maxPoolT's bit for bit (NaN payloads and signed zeros included).
func maxPool2D[T float32 | float64 | uint8 | int8](out, x []T, nc int, g geom, lowest T) []T {
	H, W, OH, OW := g.in[1], g.in[2], g.out[1], g.out[2]
	w := pool2D{g: g, rows: make([][3]int, OH), cols: make([][3]int, OW)}
	for oh := range w.rows {
		w.rows[oh] = tapRange(oh*g.s[1]-g.pb[1], g.k[1], g.d[1], H)
	}
	for ow := range w.cols {
		w.cols[ow] = tapRange(ow*g.s[2]-g.pb[2], g.k[2], g.d[2], W)
	}
	xf, isF32 := any(x).([]float32)
	of, _ := any(out).([]float32)
	for c := 0; c < nc; c++ {
		xc := x[c*H*W : (c+1)*H*W]
		oc := out[c*OH*OW : (c+1)*OH*OW]
		if isF32 && orderKeySafe(xf[c*H*W:(c+1)*H*W]) {
			maxPlaneKeys(of[c*OH*OW:(c+1)*OH*OW], xf[c*H*W:(c+1)*H*W], &w, float32(lowest))
			continue
		}
		maxPlane(oc, xc, &w, lowest)
	}
	return out
}

// pool2D is a 2-D window resolved per output row and column: the first
// valid tap, one past the last, and the input coordinate of tap 0.
type pool2D struct {
	g          geom
	rows, cols [][3]int
}

// tapRange returns the taps [a, b) of a window starting at input
// coordinate base (k taps, dilation d) that fall inside [0, n), and base.
// The input coordinate grows with the tap, so the valid taps are contiguous.
func tapRange(base, k, d, n int) [3]int {
	a, b := 0, k
	for a < b && base+a*d < 0 {
		a++
	}
	for b > a && base+(b-1)*d >= n {
		b--
	}
	return [3]int{a, b, base}
}

// maxPlane pools one [H, W] plane with maxPoolT's rule: the first tap,
// then each later one that is greater or NaN.
func maxPlane[T float32 | float64 | uint8 | int8](oc, xc []T, w *pool2D, lowest T) {
	W, OW, dh, dw := w.g.in[2], w.g.out[2], w.g.d[1], w.g.d[2]
	for oh, r := range w.rows {
		h0, h1, ih := r[0], r[1], r[2]
		orow := oc[oh*OW : (oh+1)*OW]
		for ow, cl := range w.cols {
			a, b, base := cl[0], cl[1], cl[2]
			if a >= b || h0 >= h1 {
				orow[ow] = lowest
				continue
			}
			row := xc[(ih+h0*dh)*W:]
			m := row[base+a*dw]
			for k := a + 1; k < b; k++ {
				if v := row[base+k*dw]; v > m || v != v {
					m = v
				}
			}
			for kh := h0 + 1; kh < h1; kh++ {
				row := xc[(ih+kh*dh)*W:]
				for k := a; k < b; k++ {
					if v := row[base+k*dw]; v > m || v != v {
						m = v
					}
				}
			}
			orow[ow] = m
		}
	}
}

// orderKeySafe reports whether a float32 plane holds neither NaN nor -0.
// On such values the order key (orderKey) is strictly increasing with the
// value, so the largest key is maxPoolT's pick: equal values are equal
// bits, and the NaN and signed-zero rules never come into play.
func orderKeySafe(s []float32) bool {
	bad := uint32(0)
	for _, v := range s {
		b := math.Float32bits(v)
		bad |= b2u(b == 0x80000000) | b2u(b&0x7fffffff > 0x7f800000)
	}
	return bad == 0
}

// orderKey maps float bits to an int32 that orders like the float (for
// non-NaN values, -0 below +0); it is its own inverse.
func orderKey(b int32) int32 { return b ^ int32(uint32(b>>31)>>1) }

// maxPlaneKeys is maxPlane for float32 planes that pass orderKeySafe: the
// comparisons run on integer keys, which compile to conditional moves
// instead of branches that random data mispredicts half the time.
func maxPlaneKeys(oc, xc []float32, w *pool2D, lowest float32) {
	W, OW, dh, dw := w.g.in[2], w.g.out[2], w.g.d[1], w.g.d[2]
	key := func(v float32) int32 { return orderKey(int32(math.Float32bits(v))) }
	for oh, r := range w.rows {
		h0, h1, ih := r[0], r[1], r[2]
		orow := oc[oh*OW : (oh+1)*OW]
		for ow, cl := range w.cols {
			a, b, base := cl[0], cl[1], cl[2]
			if a >= b || h0 >= h1 {
				orow[ow] = lowest
				continue
			}
			m := key(xc[(ih+h0*dh)*W+base+a*dw])
			if b-a == 3 && dw == 1 {
				// The common 3-wide interior: three loads per row.
				for kh := h0; kh < h1; kh++ {
					t := xc[(ih+kh*dh)*W+base+a:]
					t = t[:3:3]
					m = max(m, key(t[0]), key(t[1]), key(t[2]))
				}
				orow[ow] = math.Float32frombits(uint32(orderKey(m)))
				continue
			}
			for kh := h0; kh < h1; kh++ {
				row := xc[(ih+kh*dh)*W:]
				for k := a; k < b; k++ {
					m = max(m, key(row[base+k*dw]))
				}
			}
			orow[ow] = math.Float32frombits(uint32(orderKey(m)))
		}
	}
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
