package kernels

import (
	"math"

	"gorgonia.org/tensor"
)

// RoiAlignParams are RoiAlign's attributes.
type RoiAlignParams struct {
	Max           bool // mode "max" (else "avg")
	HalfPixel     bool // coordinate_transformation_mode "half_pixel" (else "output_half_pixel")
	OutH, OutW    int
	SamplingRatio int
	SpatialScale  float32
}

// RoiAlign is ONNX RoiAlign (opsets 10 and 16): for each region of interest
// (x1, y1, x2, y2) of rois and its image batchIndices[r] of x [N, C, H, W],
// an OutH x OutW grid of bins, each the average (or, as ONNX Runtime
// computes "max", the largest bilinear corner term) of sampling points
// bilinearly interpolated from x. Output [num_rois, C, OutH, OutW].
func RoiAlign(x, rois, batchIndices *tensor.Dense, p RoiAlignParams) (*tensor.Dense, error) {
	const op = "RoiAlign"
	xs, sh, err := f32in(op, x)
	if err != nil {
		return nil, err
	}
	if len(sh) != 4 {
		return nil, shapeErr(op, "input %v must have rank 4", sh)
	}
	rs, rsh, err := f32in(op, rois)
	if err != nil {
		return nil, err
	}
	if len(rsh) != 2 || rsh[1] != 4 {
		return nil, shapeErr(op, "rois %v, want [num_rois 4]", rsh)
	}
	bi, err := Ints(batchIndices)
	if err != nil {
		return nil, shapeErr(op, "batch_indices: %v", err)
	}
	nr := rsh[0]
	if len(bi) != nr {
		return nil, shapeErr(op, "%d batch indices for %d rois", len(bi), nr)
	}
	if p.OutH < 1 || p.OutW < 1 || p.SamplingRatio < 0 {
		return nil, shapeErr(op, "output %dx%d, sampling_ratio %d", p.OutH, p.OutW, p.SamplingRatio)
	}
	N, C, H, W := sh[0], sh[1], sh[2], sh[3]
	out := make([]float32, nr*C*p.OutH*p.OutW)
	// The roi geometry is float32 arithmetic, as in ONNX Runtime: the
	// adaptive grid size is the ceiling of a float32 quotient.
	var offset float32
	if p.HalfPixel {
		offset = 0.5
	}
	scale := p.SpatialScale
	for r := 0; r < nr; r++ {
		b := bi[r]
		if b < 0 || b >= N {
			return nil, shapeErr(op, "batch index %d out of range [0, %d)", b, N)
		}
		x1f, y1f := rs[r*4]*scale-offset, rs[r*4+1]*scale-offset
		x2f, y2f := rs[r*4+2]*scale-offset, rs[r*4+3]*scale-offset
		rwf, rhf := x2f-x1f, y2f-y1f
		if !p.HalfPixel {
			rwf, rhf = max(rwf, 1), max(rhf, 1)
		}
		binHf, binWf := rhf/float32(p.OutH), rwf/float32(p.OutW)
		gh, gw := p.SamplingRatio, p.SamplingRatio
		if gh == 0 {
			gh = int(math.Ceil(float64(rhf / float32(p.OutH))))
			gw = int(math.Ceil(float64(rwf / float32(p.OutW))))
		}
		x1, y1 := float64(x1f), float64(y1f)
		binH, binW := float64(binHf), float64(binWf)
		count := float64(max(gh*gw, 1))
		for c := 0; c < C; c++ {
			img := xs[(b*C+c)*H*W : (b*C+c+1)*H*W]
			for ph := 0; ph < p.OutH; ph++ {
				for pw := 0; pw < p.OutW; pw++ {
					var acc float64
					first := true
					for iy := 0; iy < gh; iy++ {
						y := y1 + float64(ph)*binH + (float64(iy)+0.5)*binH/float64(gh)
						for ix := 0; ix < gw; ix++ {
							xx := x1 + float64(pw)*binW + (float64(ix)+0.5)*binW/float64(gw)
							terms, ok := bilinearTerms(img, H, W, y, xx)
							if p.Max {
								for _, t := range terms {
									if !ok {
										t = 0
									}
									if first || t > acc {
										acc, first = t, false
									}
								}
								continue
							}
							if ok {
								acc += terms[0] + terms[1] + terms[2] + terms[3]
							}
						}
					}
					if !p.Max {
						acc /= count
					}
					out[((r*C+c)*p.OutH+ph)*p.OutW+pw] = float32(acc)
				}
			}
		}
	}
	return New([]int{nr, C, p.OutH, p.OutW}, out)
}

// bilinearTerms are the four weighted corner values of a bilinear sample of
// img at (y, x); ok is false for a point outside [-1, H] x [-1, W], which
// contributes nothing.
func bilinearTerms(img []float32, H, W int, y, x float64) ([4]float64, bool) {
	if y < -1 || y > float64(H) || x < -1 || x > float64(W) {
		return [4]float64{}, false
	}
	y, x = math.Max(y, 0), math.Max(x, 0)
	yl, xl := int(y), int(x)
	yh, xh := yl+1, xl+1
	if yl >= H-1 {
		yl, yh, y = H-1, H-1, float64(H-1)
	}
	if xl >= W-1 {
		xl, xh, x = W-1, W-1, float64(W-1)
	}
	ly, lx := y-float64(yl), x-float64(xl)
	hy, hx := 1-ly, 1-lx
	return [4]float64{
		hy * hx * float64(img[yl*W+xl]), hy * lx * float64(img[yl*W+xh]),
		ly * hx * float64(img[yh*W+xl]), ly * lx * float64(img[yh*W+xh]),
	}, true
}
