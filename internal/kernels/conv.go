package kernels

import (
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/gemm"
)

// ConvParams are Conv's attributes. Group 0 means 1; Window.Kernel, when set,
// must match the weight's spatial shape.
type ConvParams struct {
	Window
	Group int
}

// Conv is ONNX Conv for 1-D, 2-D and 3-D inputs: x [N,C,spatial...], w
// [M,C/group,k...], optional bias b [M]. Grouped convolutions with one input
// channel per group (depthwise) take a direct loop; the rest use im2col + GEMM.
// workers bounds the goroutines used; the result does not depend on it.
func Conv(x, w, b *tensor.Dense, p ConvParams, workers int) (*tensor.Dense, error) {
	return ConvWith(nil, x, w, b, p, workers)
}

// ConvWith is Conv writing its result into a buffer from alloc.
func ConvWith(alloc Alloc, x, w, b *tensor.Dense, p ConvParams, workers int) (*tensor.Dense, error) {
	return convWith(alloc, x, w, b, p, workers, nil)
}

// convWith is ConvWith taking, when plan is not nil, the weight of each
// group prepacked for the GEMM path and computing 3x3 layers with
// Winograd where that is cheaper (see ConvPlan).
func convWith(alloc Alloc, x, w, b *tensor.Dense, p ConvParams, workers int, plan *ConvPlan) (*tensor.Dense, error) {
	const op = "Conv"
	xs, xsh, err := f32in(op, x)
	if err != nil {
		return nil, err
	}
	ws, wsh, err := f32in(op, w)
	if err != nil {
		return nil, err
	}
	if len(xsh) < 3 || len(wsh) != len(xsh) {
		return nil, shapeErr(op, "input %v and weight %v must both be rank 3 to 5", xsh, wsh)
	}
	group := max(p.Group, 1)
	N, C, M := xsh[0], xsh[1], wsh[0]
	if C%group != 0 || M%group != 0 || wsh[1] != C/group {
		return nil, shapeErr(op, "input %v, weight %v and group %d do not fit (weight dim 1 must be C/group)", xsh, wsh, group)
	}
	kernel := wsh[2:]
	if p.Kernel != nil && !equalInts(p.Kernel, kernel) {
		return nil, shapeErr(op, "kernel_shape %v differs from weight %v", p.Kernel, wsh)
	}
	g, err := p.Window.resolve(op, xsh[2:], kernel, false)
	if err != nil {
		return nil, err
	}
	var bias []float32
	if b != nil {
		var bsh []int
		if bias, bsh, err = f32in(op, b); err != nil {
			return nil, err
		}
		if len(bsh) != 1 || bsh[0] != M {
			return nil, shapeErr(op, "bias %v must be [%d]", bsh, M)
		}
	}
	out := alloc.f32(N * M * g.outSize())
	depthwise := group == C && wsh[1] == 1 && g.k[0] == 1
	switch {
	case depthwise && g.in[0] == 1 && g.k[1] == 3 && g.k[2] == 3 && g.d[1] == 1 && g.d[2] == 1:
		depthwise3x3(xs, ws, bias, out, N, C, M/C, g, workers)
	case depthwise:
		convDepthwise(xs, ws, bias, out, N, C, M/C, g, workers)
	case plan != nil && plan.wino != nil && plan.wino.applies(g):
		plan.wino.run(xs, bias, out, N, g, workers)
	case plan != nil:
		convGemm(xs, ws, bias, out, N, C, M, group, g, workers, plan.packedWeights())
	default:
		convGemm(xs, ws, bias, out, N, C, M, group, g, workers, nil)
	}
	return New(g.outShape(N, M), out)
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// convGemm runs each (image, group) as one GEMM: out[Mg, P] = W[Mg, Cg*K] x col[Cg*K, P].
// packed, when not nil, holds each group's W already packed.
func convGemm(xs, ws, bias, out []float32, N, C, M, group int, g geom, workers int, packed []*gemm.PackedA) {
	Cg, Mg := C/group, M/group
	K, P, I := g.kSize(), g.outSize(), g.inSize()
	rows := Cg * K
	pointwise := K == 1 && g.s == [3]int{1, 1, 1} && g.pb == [3]int{} && g.pe == [3]int{}
	// With the weight prepacked, im2col is produced block by block in
	// packed form (colPacker) instead of stored whole.
	fused := !pointwise && packed != nil && Mg >= 2 && P >= 2 && canPackCols(g)
	var col []float32
	if !pointwise && !fused {
		buf := getCol(rows * P)
		defer putCol(buf)
		col = *buf
	}
	for n := 0; n < N; n++ {
		for gi := 0; gi < group; gi++ {
			xg := xs[(n*C+gi*Cg)*I : (n*C+(gi+1)*Cg)*I]
			src := xg
			if !pointwise && !fused {
				parallelFor(workers, rows, func(lo, hi int) { im2col(xg, col, lo, hi, g) })
				src = col
			}
			og := out[(n*M+gi*Mg)*P : (n*M+(gi+1)*Mg)*P]
			beta := float32(0)
			if bias != nil {
				for m := 0; m < Mg; m++ {
					fillF32(og[m*P:(m+1)*P], bias[gi*Mg+m])
				}
				beta = 1
			}
			if fused {
				cp := &colPacker{x: xg, g: g}
				if usePrepared(g) {
					hp, wp := preparedDims(g)
					buf := getCol(Cg * hp * wp)
					cp.prepare(*buf, Cg)
					gemm.SgemmSource(max(workers, 1), packed[gi], P, 1, cp, beta, og, P)
					putCol(buf)
					continue
				}
				gemm.SgemmSource(max(workers, 1), packed[gi], P, 1, cp, beta, og, P)
				continue
			}
			if packed != nil {
				if Mg > 0 && P > 0 {
					gemm.SgemmPacked(max(workers, 1), packed[gi], false, P, 1, src, P, beta, og, P)
				}
				continue
			}
			wg := ws[gi*Mg*rows : (gi+1)*Mg*rows]
			sgemmParallel(workers, false, false, Mg, P, rows, 1, wg, rows, src, P, beta, og, P)
		}
	}
}

// im2col fills rows [lo,hi) of col: row r = (c, kd, kh, kw) holds the input
// values that tap meets at every output position (zero where it reads padding).
// Only the padding part of a row is cleared, so each element is written once.
func im2col(x, col []float32, lo, hi int, g geom) {
	K, P := g.kSize(), g.outSize()
	H, W := g.in[1], g.in[2]
	OD, OH, OW := g.out[0], g.out[1], g.out[2]
	for r := lo; r < hi; r++ {
		c, t := r/K, r%K
		kd, kh, kw := t/(g.k[1]*g.k[2]), (t/g.k[2])%g.k[1], t%g.k[2]
		dst := col[r*P : (r+1)*P]
		xc := x[c*g.inSize() : (c+1)*g.inSize()]
		d0, d1 := g.validRange(0, kd)
		h0, h1 := g.validRange(1, kh)
		w0, w1 := g.validRange(2, kw)
		if d0 >= d1 || h0 >= h1 || w0 >= w1 {
			clear(dst)
			continue
		}
		clear(dst[:(d0*OH+h0)*OW])
		sw := g.s[2]
		for od := d0; od < d1; od++ {
			id := od*g.s[0] - g.pb[0] + kd*g.d[0]
			if od > d0 {
				// Rows of the previous plane past h1 and of this one before h0.
				clear(dst[((od-1)*OH+h1)*OW : (od*OH+h0)*OW])
			}
			for oh := h0; oh < h1; oh++ {
				ih := oh*g.s[1] - g.pb[1] + kh*g.d[1]
				srow := xc[(id*H+ih)*W:]
				drow := dst[(od*OH+oh)*OW : (od*OH+oh+1)*OW]
				clear(drow[:w0])
				clear(drow[w1:])
				iw := w0*sw - g.pb[2] + kw*g.d[2]
				if sw == 1 {
					copy(drow[w0:w1], srow[iw:iw+w1-w0])
					continue
				}
				for ow := w0; ow < w1; ow++ {
					drow[ow] = srow[iw]
					iw += sw
				}
			}
		}
		clear(dst[((d1-1)*OH+h1)*OW : OD*OH*OW])
	}
}

// convDepthwise handles group == C with one input channel per group (mult output
// channels per input channel) as a direct loop: each output channel accumulates
// bias then its taps in a fixed order, so splitting channels across workers is exact.
func convDepthwise(xs, ws, bias, out []float32, N, C, mult int, g geom, workers int) {
	M := C * mult
	I, P := g.inSize(), g.outSize()
	K := g.kSize()
	W, OW := g.in[2], g.out[2]
	parallelFor(workers, N*M, func(lo, hi int) {
		for nm := lo; nm < hi; nm++ {
			n, m := nm/M, nm%M
			c := m / mult
			xc := xs[(n*C+c)*I : (n*C+c+1)*I]
			oc := out[nm*P : (nm+1)*P]
			if bias != nil {
				v := bias[m]
				for i := range oc {
					oc[i] = v
				}
			} else {
				clear(oc) // the taps accumulate onto it; padding adds none
			}
			wk := ws[m*K : (m+1)*K]
			for kh := 0; kh < g.k[1]; kh++ {
				h0, h1 := g.validRange(1, kh)
				for kw := 0; kw < g.k[2]; kw++ {
					wv := wk[kh*g.k[2]+kw]
					w0, w1 := g.validRange(2, kw)
					if w0 >= w1 {
						continue
					}
					for oh := h0; oh < h1; oh++ {
						ih := oh*g.s[1] - g.pb[1] + kh*g.d[1]
						srow := xc[ih*W:]
						drow := oc[oh*OW+w0 : oh*OW+w1]
						iw := w0*g.s[2] - g.pb[2] + kw*g.d[2]
						if g.s[2] == 1 {
							s := srow[iw : iw+len(drow)]
							for i := range drow {
								drow[i] += wv * s[i]
							}
							continue
						}
						sw := g.s[2]
						for i := range drow {
							drow[i] += wv * srow[iw]
							iw += sw
						}
					}
				}
			}
		}
	})
}

// fillF32 sets every element of s to v, by doubling copies: memmove's
// vector loop instead of one store per element, which showed up as a tenth
// of MobileNet's pointwise-convolution time.
func fillF32(s []float32, v float32) {
	if len(s) == 0 {
		return
	}
	s[0] = v
	for n := 1; n < len(s); n *= 2 {
		copy(s[n:], s[:n])
	}
}
