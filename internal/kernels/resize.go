package kernels

import (
	"math"

	"gorgonia.org/tensor"
)

// ResizeParams are Resize's attributes. Scales (one per axis) or Sizes (one per
// axis) give the output; when Sizes is set the per-axis scale is out/in.
type ResizeParams struct {
	Mode                     string // "nearest" (default), "linear"
	CoordinateTransformation string // "half_pixel" (default), "align_corners", "asymmetric", "pytorch_half_pixel", "half_pixel_symmetric"
	NearestMode              string // "round_prefer_floor" (default), "round_prefer_ceil", "floor", "ceil"
	Scales                   []float32
	Sizes                    []int // output extents; with Scales too, Scales drive the coordinate mapping
	// Antialias (Resize-18, linear mode) widens the interpolation filter
	// by 1/scale on the axes that shrink, so every input pixel counts.
	Antialias bool
	// ExcludeOutside drops antialias filter taps outside the input
	// instead of replicating the edge.
	ExcludeOutside bool
	// Roi is [start_1..start_n, end_1..end_n] in normalized coordinates,
	// read by tf_crop_and_resize only; Extrapolation fills the outputs that
	// map outside the input in that mode.
	Roi           []float32
	Extrapolation float32
}

// Resize is ONNX Resize in nearest and (multi)linear modes. Both are separable,
// so the tensor is resampled one axis at a time (axes with scale 1 and equal
// size are skipped, which is exact for every mode supported here).
func Resize(x *tensor.Dense, p ResizeParams) (*tensor.Dense, error) {
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
	mode := p.Mode
	if mode == "" {
		mode = "nearest"
	}
	if mode != "nearest" && mode != "linear" {
		return nil, shapeErr(op, "mode %q not supported", p.Mode)
	}
	ctm := p.CoordinateTransformation
	if ctm == "" {
		ctm = "half_pixel"
	}
	switch ctm {
	case "half_pixel", "align_corners", "asymmetric", "pytorch_half_pixel", "half_pixel_symmetric":
	case "tf_crop_and_resize":
		if len(p.Roi) != 2*r {
			return nil, shapeErr(op, "tf_crop_and_resize needs a roi of %d values, got %d", 2*r, len(p.Roi))
		}
	default:
		return nil, shapeErr(op, "coordinate_transformation_mode %q not supported", ctm)
	}
	cur, csh := xs, append([]int(nil), sh...)
	for a := 0; a < r; a++ {
		if out[a] < 1 {
			return Empty(out, x.Dtype()), nil
		}
		if out[a] == sh[a] && scales[a] == 1 {
			continue
		}
		coord := func(o int) float64 { return srcCoord(ctm, o, sh[a], out[a], scales[a]) }
		switch {
		case ctm == "tf_crop_and_resize":
			cur = cropResampleAxis(cur, csh, a, out[a], float64(p.Roi[a]), float64(p.Roi[r+a]), mode, p.NearestMode, p.Extrapolation)
		case p.Antialias && mode == "linear" && scales[a] < 1:
			cur = resampleAxisAntialias(cur, csh, a, out[a], coord, scales[a], p.ExcludeOutside)
		default:
			cur = resampleAxis(cur, csh, a, out[a], coord, mode, p.NearestMode)
		}
		csh[a] = out[a]
	}
	if &cur[0] == &xs[0] {
		cur = append([]float32(nil), xs...)
	}
	return New(out, cur)
}

// srcCoord maps output coordinate o to the input coordinate per the ONNX modes.
func srcCoord(ctm string, o, in, out int, scale float64) float64 {
	x := float64(o)
	switch ctm {
	case "align_corners":
		// length_resized is in*scale unrounded, as the ONNX reference computes it.
		lr := float64(in) * scale
		if out == 1 || lr == 1 {
			return 0
		}
		return x * float64(in-1) / (lr - 1)
	case "asymmetric":
		return x / scale
	case "pytorch_half_pixel":
		if out == 1 {
			return 0
		}
		return (x+0.5)/scale - 0.5
	case "half_pixel_symmetric":
		adj := float64(out) / (scale * float64(in))
		center := float64(in) / 2
		return center*(1-adj) + (x+0.5)/scale - 0.5
	}
	return (x+0.5)/scale - 0.5
}

// resampleAxis resamples src (shape sh) along axis a to n positions.
func resampleAxis(src []float32, sh []int, a, n int, coord func(int) float64, mode, nearest string) []float32 {
	outer, in, inner := prod(sh[:a]), sh[a], prod(sh[a+1:])
	dst := make([]float32, outer*n*inner)
	i0 := make([]int, n)
	i1 := make([]int, n)
	w1 := make([]float32, n)
	for o := 0; o < n; o++ {
		c := coord(o)
		if mode == "nearest" {
			var k float64
			switch nearest {
			case "floor":
				k = math.Floor(c)
			case "ceil":
				k = math.Ceil(c)
			case "round_prefer_ceil":
				k = math.Floor(c + 0.5)
			default: // round_prefer_floor
				k = math.Ceil(c - 0.5)
			}
			i0[o] = min(max(int(k), 0), in-1)
			continue
		}
		c = min(max(c, 0), float64(in-1))
		f := math.Floor(c)
		i0[o] = int(f)
		i1[o] = min(i0[o]+1, in-1)
		w1[o] = float32(c - f)
	}
	for ot := 0; ot < outer; ot++ {
		s := src[ot*in*inner : (ot+1)*in*inner]
		d := dst[ot*n*inner : (ot+1)*n*inner]
		for o := 0; o < n; o++ {
			row := d[o*inner : (o+1)*inner]
			a0 := s[i0[o]*inner : (i0[o]+1)*inner]
			if mode == "nearest" {
				copy(row, a0)
				continue
			}
			a1 := s[i1[o]*inner : (i1[o]+1)*inner]
			w := w1[o]
			for j := range row {
				row[j] = a0[j] + w*(a1[j]-a0[j])
			}
		}
	}
	return dst
}

// cropResampleAxis is tf_crop_and_resize along axis a: output o samples
// the input at start·(in-1) + o·(end-start)·(in-1)/(n-1) (the middle of
// the box when n is 1); a position outside the input takes extrapolation.
// Along the other axes the extrapolated values resample to themselves, so
// axis by axis gives the ONNX result.
func cropResampleAxis(src []float32, sh []int, a, n int, start, end float64, mode, nearest string, extrapolation float32) []float32 {
	in := sh[a]
	coords := make([]float64, n)
	for o := range coords {
		if n > 1 {
			coords[o] = start*float64(in-1) + float64(o)*(end-start)*float64(in-1)/float64(n-1)
		} else {
			coords[o] = 0.5 * (start + end) * float64(in-1)
		}
	}
	dst := resampleAxis(src, sh, a, n, func(o int) float64 { return coords[o] }, mode, nearest)
	outer, inner := prod(sh[:a]), prod(sh[a+1:])
	for o, c := range coords {
		if c >= 0 && c <= float64(in-1) {
			continue
		}
		for ot := 0; ot < outer; ot++ {
			row := dst[(ot*n+o)*inner : (ot*n+o+1)*inner]
			for j := range row {
				row[j] = extrapolation
			}
		}
	}
	return dst
}

// resampleAxisAntialias is linear resampling along axis a with the
// triangle filter stretched by 1/scale (scale < 1): output o weighs the
// inputs within 1/scale of its source position by distance. Taps that fall
// outside the input are dropped with excludeOutside, otherwise their
// weight goes to the nearest edge pixel (the edge is replicated); weights
// are normalized over all the window's taps.
func resampleAxisAntialias(src []float32, sh []int, a, n int, coord func(int) float64, scale float64, excludeOutside bool) []float32 {
	outer, in, inner := prod(sh[:a]), sh[a], prod(sh[a+1:])
	dst := make([]float32, outer*n*inner)
	support := 1 / scale
	window := 2*int(math.Ceil(support)) + 1
	first := make([]int, n)
	weights := make([][]float32, n)
	for o := 0; o < n; o++ {
		// Pixel-centre coordinates: input pixel x covers [x, x+1).
		center := coord(o) + 0.5
		lo := int(math.Floor(center - support + 0.5))
		hi := int(math.Floor(center + support + 0.5))
		hi = lo + min(max(hi-lo, 0), window)
		if excludeOutside {
			lo, hi = min(max(lo, 0), in), min(max(hi, 0), in)
		}
		cutLo, cutHi := min(max(lo, 0), in), min(max(hi, 0), in)
		ws := make([]float64, max(cutHi-cutLo, 0))
		var total float64
		for x := lo; x < hi; x++ {
			w := max(0, 1-math.Abs((float64(x)-center+0.5)*scale))
			total += w
			if len(ws) == 0 {
				continue
			}
			k := min(max(x, cutLo), cutHi-1) - cutLo // outside taps fold onto the edge
			ws[k] += w
		}
		out := make([]float32, len(ws))
		for i, w := range ws {
			if total != 0 {
				w /= total
			}
			out[i] = float32(w)
		}
		first[o], weights[o] = cutLo, out
	}
	for ot := 0; ot < outer; ot++ {
		s := src[ot*in*inner : (ot+1)*in*inner]
		d := dst[ot*n*inner : (ot+1)*n*inner]
		for o := 0; o < n; o++ {
			row := d[o*inner : (o+1)*inner]
			for k, w := range weights[o] {
				x := s[(first[o]+k)*inner : (first[o]+k+1)*inner]
				for j := range row {
					row[j] += w * x[j]
				}
			}
		}
	}
	return dst
}

// Upsample is the deprecated ONNX Upsample (opset 7-9): Resize with asymmetric
// coordinates and floor rounding for "nearest", asymmetric for "linear".
func Upsample(x *tensor.Dense, scales []float32, mode string) (*tensor.Dense, error) {
	if mode == "" {
		mode = "nearest"
	}
	if mode == "bilinear" {
		mode = "linear"
	}
	return Resize(x, ResizeParams{Mode: mode, CoordinateTransformation: "asymmetric", NearestMode: "floor", Scales: scales})
}

// outputSize is the output shape and per-axis scale of a resize, from
// Sizes or Scales (output = floor(input × scale)).
func (p ResizeParams) outputSize(sh []int) ([]int, []float64, error) {
	r := len(sh)
	out := make([]int, r)
	scales := make([]float64, r)
	switch {
	case len(p.Sizes) == r:
		// Both given (Resize-18's keep_aspect_ratio_policy): the extents
		// come from sizes, the coordinate mapping from scales.
		for i := range out {
			out[i] = p.Sizes[i]
			scales[i] = float64(out[i]) / float64(sh[i])
			if len(p.Scales) == r {
				scales[i] = float64(p.Scales[i])
			}
		}
	case len(p.Scales) == r:
		for i := range out {
			scales[i] = float64(p.Scales[i])
			out[i] = int(math.Floor(float64(sh[i]) * scales[i]))
		}
	default:
		return nil, nil, shapeErr("Resize", "needs %d scales or sizes, got scales %v sizes %v", r, p.Scales, p.Sizes)
	}
	return out, scales, nil
}
