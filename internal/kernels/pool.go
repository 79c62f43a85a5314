package kernels

import (
	"math"
	"unsafe"

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
	if xf, isF32 := any(x).([]float32); isF32 {
		of := any(out).([]float32)
		sep := newSepMax(&w)
		for c := 0; c < nc; c++ {
			sep.plane(of[c*OH*OW:(c+1)*OH*OW], xf[c*H*W:(c+1)*H*W])
		}
		return out
	}
	for c := 0; c < nc; c++ {
		maxPlane(out[c*OH*OW:(c+1)*OH*OW], x[c*H*W:(c+1)*H*W], &w, lowest)
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

// Fast float32 2-D max pooling.
//
// A window's max is the max of its rows' maxes, so each input row's
// horizontal window maxes are computed once and shared by every output row
// whose window covers that row (separable pooling). The comparisons run on
// integer keys (maxKey) that order like the floats, which compile to
// conditional moves: no branch for random data to mispredict.
//
// Keys agree with the exact rule (the first tap, then each later one that is
// greater or NaN) except in two cases, both visible in the window's max key:
// a NaN in the window (every NaN key is above +Inf's), and a max of +0 when
// the window may also hold a -0 (the rule keeps whichever zero comes first,
// keys always pick +0). Those windows are recomputed tap by tap, so the
// results are the general loop's bit for bit.

// keyShift moves the keys of negative NaNs, the lowest order keys, past
// the top of the int32 range, above every other key: then a window max above
// keyPosInf means the window holds a NaN of either sign.
const keyShift = 0x7fffff

const (
	keyPosInf  = int32(0x7f800000 - keyShift) // maxKey(+Inf)
	keyPosZero = int32(-keyShift)             // maxKey(+0)
)

// maxKey maps a float32 to an int32 ordered like the float for non-NaN
// values (-0 just below +0), with every NaN above maxKey(+Inf).
func maxKey(v float32) int32 { return keyOfBits(math.Float32bits(v)) }

// fromMaxKey inverts maxKey for non-NaN keys, giving the float's bits.
func fromMaxKey(k int32) uint32 {
	b := k + keyShift
	return uint32(b ^ int32(uint32(b>>31)>>1))
}

// sepMax holds the per-call state of separable pooling: the resolved
// window, the range of output columns whose windows lie wholly inside the
// input (the interior, which takes the tight loops), and scratch reused by
// every plane.
type sepMax struct {
	w              *pool2D
	colLo, colHi   int     // interior output columns [colLo, colHi)
	kb             []int32 // [W] keys of one input row
	rk             []int32 // [H][OW] horizontal window max keys of each input row
	done           []bool  // which rows of rk hold the current plane's keys
	acc            []int32 // [OW] vertical max keys of one output row
	keyLowestEmpty int32   // key stored for windows with no tap in the input
}

func newSepMax(w *pool2D) *sepMax {
	H, W, OW := w.g.in[1], w.g.in[2], w.g.out[2]
	s := &sepMax{w: w, kb: make([]int32, W), rk: make([]int32, H*OW), done: make([]bool, H), acc: make([]int32, OW),
		keyLowestEmpty: maxKey(float32(math.Inf(-1)))}
	k := w.g.k[2]
	s.colLo = OW
	for ow, cl := range w.cols {
		if cl[0] == 0 && cl[1] == k {
			s.colLo = min(s.colLo, ow)
			s.colHi = ow + 1
		}
	}
	// Interior windows form one run; anything after a gap is handled by the
	// general loop, which is correct for every window.
	for ow := s.colLo; ow < s.colHi; ow++ {
		if cl := w.cols[ow]; cl[0] != 0 || cl[1] != k {
			s.colHi = ow
			break
		}
	}
	s.colHi = max(s.colHi, s.colLo)
	return s
}

// plane pools one [H, W] float32 plane into oc, whose windows all have
// lowest = -Inf as the value of an empty window.
func (s *sepMax) plane(oc, xc []float32) {
	w := s.w
	OW, dh := w.g.out[2], w.g.d[1]
	clear(s.done)
	negZero := 0 // whether xc holds a -0: 0 not yet known, 1 no, 2 yes
	zeroWindows := 0
	ou := unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(oc))), len(oc))
	for oh, r := range w.rows {
		h0, h1, ih := r[0], r[1], r[2]
		orow := ou[oh*OW : (oh+1)*OW]
		for kh := h0; kh < h1; kh++ {
			if iy := ih + kh*dh; !s.done[iy] {
				s.rowKeys(iy, xc)
				s.done[iy] = true
			}
		}
		var acc []int32
		converted := false // whether orow holds every non-special window already
		switch {
		case h0 >= h1:
			acc = s.acc
			for i := range acc {
				acc[i] = s.keyLowestEmpty
			}
		case h1-h0 == 3:
			a := s.rk[(ih+h0*dh)*OW:][:OW]
			b := s.rk[(ih+(h0+1)*dh)*OW:][:OW]
			c := s.rk[(ih+(h0+2)*dh)*OW:][:OW]
			acc = s.acc[:OW]
			special, ok := maxKeys3(a, b, c, acc, orow)
			if ok && special == 0 {
				continue
			}
			if ok {
				converted = true
				break
			}
			for i := range acc {
				acc[i] = max(a[i], b[i], c[i])
			}
		default:
			acc = s.acc[:OW]
			copy(acc, s.rk[(ih+h0*dh)*OW:][:OW])
			for kh := h0 + 1; kh < h1; kh++ {
				rk := s.rk[(ih+kh*dh)*OW:][:OW]
				for i, k := range rk {
					acc[i] = max(acc[i], k)
				}
			}
		}
		for ow, m := range acc {
			if m <= keyPosInf && m != keyPosZero {
				if !converted {
					orow[ow] = fromMaxKey(m)
				}
				continue
			}
			// A NaN, or a zero max that may be a -0 after all.
			v := float32(0)
			if m > keyPosInf {
				v = maxWindow(xc, w, r, w.cols[ow])
			} else {
				// Check the window itself while zero maxes are few (as
				// after a ReLU); once they are many (a dead channel), scan
				// the plane for -0 once instead.
				if negZero == 0 {
					if zeroWindows++; zeroWindows > 32 {
						negZero = 1
						for _, x := range xc {
							if math.Float32bits(x) == 0x80000000 {
								negZero = 2
								break
							}
						}
					}
				}
				if negZero != 1 {
					v = maxWindow(xc, w, r, w.cols[ow])
				}
			}
			orow[ow] = math.Float32bits(v)
		}
	}
}

// rowKeys fills row iy of s.rk with the max key of every horizontal window
// of input row iy; windows with no tap inside the input get the key of -Inf.
func (s *sepMax) rowKeys(iy int, xc []float32) {
	w := s.w
	W, OW, sw, dw, k := w.g.in[2], w.g.out[2], w.g.s[2], w.g.d[2], w.g.k[2]
	xu := unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(xc[iy*W:]))), W)
	rk := s.rk[iy*OW : (iy+1)*OW]
	edge := func(ow int) {
		cl := w.cols[ow]
		a, b, base := cl[0], cl[1], cl[2]
		if a >= b {
			rk[ow] = s.keyLowestEmpty
			return
		}
		m := keyOfBits(xu[base+a*dw])
		for t := a + 1; t < b; t++ {
			m = max(m, keyOfBits(xu[base+t*dw]))
		}
		rk[ow] = m
	}
	for ow := 0; ow < s.colLo; ow++ {
		edge(ow)
	}
	if lo, hi := s.colLo, s.colHi; lo < hi {
		i := w.cols[lo][2]
		switch {
		case k == 3 && dw == 1 && sw == 2 && maxKeysS2K3(xc[iy*W+i:(iy+1)*W], rk[lo:hi]):
			// ResNet's stem, 16 windows at a time.
		case k == 3 && dw == 1 && sw == 2:
			// ResNet's stem: neighbouring windows share one tap, so each
			// element is converted to a key once.
			prev := keyOfBits(xu[i])
			for ow := lo; ow < hi; ow++ {
				t := xu[i+1 : i+3 : i+3]
				k1, k2 := keyOfBits(t[0]), keyOfBits(t[1])
				rk[ow] = max(prev, k1, k2)
				prev = k2
				i += 2
			}
		default:
			// Convert the run of the row the interior windows cover once,
			// then take each window's max from the keys.
			kb := s.kb[:W]
			end := w.cols[hi-1][2] + (k-1)*dw + 1
			for j := i; j < end; j++ {
				kb[j] = keyOfBits(xu[j])
			}
			switch {
			case k == 3 && dw == 1:
				for ow := lo; ow < hi; ow++ {
					t := kb[i : i+3 : i+3]
					rk[ow] = max(t[0], t[1], t[2])
					i += sw
				}
			case k == 2 && dw == 1:
				for ow := lo; ow < hi; ow++ {
					t := kb[i : i+2 : i+2]
					rk[ow] = max(t[0], t[1])
					i += sw
				}
			default:
				for ow := lo; ow < hi; ow++ {
					m := kb[i]
					for t := 1; t < k; t++ {
						m = max(m, kb[i+t*dw])
					}
					rk[ow] = m
					i += sw
				}
			}
		}
	}
	for ow := s.colHi; ow < OW; ow++ {
		edge(ow)
	}
}

// keyOfBits is maxKey on the bits of a float32.
func keyOfBits(u uint32) int32 {
	b := int32(u)
	return (b ^ int32(uint32(b>>31)>>1)) - keyShift
}

// maxWindow is one window of maxPlane: the taps of output row r and column
// cl (both non-empty) in order, with the exact rule.
func maxWindow(xc []float32, w *pool2D, r, cl [3]int) float32 {
	W, dh, dw := w.g.in[2], w.g.d[1], w.g.d[2]
	h0, h1, ih := r[0], r[1], r[2]
	a, b, base := cl[0], cl[1], cl[2]
	m := xc[(ih+h0*dh)*W+base+a*dw]
	for kh := h0; kh < h1; kh++ {
		row := xc[(ih+kh*dh)*W:]
		for k := a; k < b; k++ {
			if v := row[base+k*dw]; v > m || v != v {
				m = v
			}
		}
	}
	return m
}
