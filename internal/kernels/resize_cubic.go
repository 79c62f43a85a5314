package kernels

import (
	"math"

	"gorgonia.org/tensor"
)

// ResizeCubic is ONNX Resize in "cubic" mode (written by the interpreter's
// author): separable Keys interpolation with coefficient a (cubic_coeff_a,
// -0.75 by default), edge-clamped taps, and with excludeOutside the weights
// of taps outside the input dropped and the rest renormalized.
func ResizeCubic(x *tensor.Dense, p ResizeParams, a float64, excludeOutside bool) (*tensor.Dense, error) {
	const op = "Resize"
	xs, sh, err := f32in(op, x)
	if err != nil {
		return nil, err
	}
	r := len(sh)
	out, scales, err := p.outputSize(sh)
	if err != nil {
		return nil, err
	}
	ctm := p.CoordinateTransformation
	if ctm == "" {
		ctm = "half_pixel"
	}
	cur, csh := xs, append([]int(nil), sh...)
	for ax := 0; ax < r; ax++ {
		if out[ax] < 1 {
			return Empty(out, x.Dtype()), nil
		}
		if out[ax] == sh[ax] && scales[ax] == 1 {
			continue
		}
		cur = cubicAxis(cur, csh, ax, out[ax], func(o int) float64 {
			return srcCoord(ctm, o, sh[ax], out[ax], scales[ax])
		}, a, excludeOutside)
		csh[ax] = out[ax]
	}
	if &cur[0] == &xs[0] {
		cur = append([]float32(nil), xs...)
	}
	return New(out, cur)
}

func cubicCoeffs(t, a float64) [4]float64 {
	w := func(d float64) float64 {
		d = math.Abs(d)
		switch {
		case d <= 1:
			return ((a+2)*d-(a+3))*d*d + 1
		case d < 2:
			return ((a*d-5*a)*d+8*a)*d - 4*a
		}
		return 0
	}
	return [4]float64{w(t + 1), w(t), w(1 - t), w(2 - t)}
}

func cubicAxis(src []float32, sh []int, ax, n int, coord func(int) float64, a float64, exclude bool) []float32 {
	outer, in, inner := prod(sh[:ax]), sh[ax], prod(sh[ax+1:])
	dst := make([]float32, outer*n*inner)
	idx := make([][4]int, n)
	wts := make([][4]float64, n)
	for o := 0; o < n; o++ {
		c := coord(o)
		f := math.Floor(c)
		w := cubicCoeffs(c-f, a)
		sum := 0.0
		for k := 0; k < 4; k++ {
			i := int(f) - 1 + k
			if exclude && (i < 0 || i >= in) {
				w[k] = 0
			}
			idx[o][k] = min(max(i, 0), in-1)
			sum += w[k]
		}
		if exclude && sum != 0 {
			for k := range w {
				w[k] /= sum
			}
		}
		wts[o] = w
	}
	for ot := 0; ot < outer; ot++ {
		s := src[ot*in*inner : (ot+1)*in*inner]
		d := dst[ot*n*inner : (ot+1)*n*inner]
		for o := 0; o < n; o++ {
			row := d[o*inner : (o+1)*inner]
			for j := range row {
				var acc float64
				for k := 0; k < 4; k++ {
					acc += wts[o][k] * float64(s[idx[o][k]*inner+j])
				}
				row[j] = float32(acc)
			}
		}
	}
	return dst
}
