package interp

import (
	"fmt"
	"math"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/kernels"
)

func resizeOps(t map[string]opBuilder) {
	t["Resize"] = buildResize
	t["Upsample"] = func(c *buildCtx) (kernel, error) {
		mode := c.n.AttrString("mode", "nearest")
		if c.n.Target.Version < 9 {
			scales := c.n.AttrFloats("scales", nil)
			return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
				return one(kernels.Upsample(in[0], scales, mode))
			}, nil
		}
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			s, err := kernels.Float32s(in[1])
			if err != nil {
				return nil, fmt.Errorf("scales: %w", err)
			}
			return one(kernels.Upsample(in[0], s, mode))
		}, nil
	}
}

// buildResize covers opset 10 (X, scales; Upsample semantics) and 11+ (X,
// roi, scales, sizes) in nearest and linear modes.
func buildResize(c *buildCtx) (kernel, error) {
	n := c.n
	mode := n.AttrString("mode", "nearest")
	if mode != "nearest" && mode != "linear" && mode != "cubic" {
		return nil, unsupportedf("Resize mode %q", mode)
	}
	if n.Target.Version < 11 {
		if mode == "cubic" {
			return nil, unsupportedf("Resize-10 cubic")
		}
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			s, err := kernels.Float32s(in[1])
			if err != nil {
				return nil, fmt.Errorf("scales: %w", err)
			}
			return one(kernels.Upsample(in[0], s, mode))
		}, nil
	}
	ct := n.AttrString("coordinate_transformation_mode", "half_pixel")
	extrapolation := n.AttrFloat("extrapolation_value", 0)
	policy := n.AttrString("keep_aspect_ratio_policy", "stretch")
	if policy != "stretch" && policy != "not_larger" && policy != "not_smaller" {
		return nil, fmt.Errorf("keep_aspect_ratio_policy %q is not one of stretch, not_larger, not_smaller", policy)
	}
	axes := ints(n.AttrInts("axes", nil))
	antialias := n.AttrInt("antialias", 0) != 0 && mode != "nearest"
	base := kernels.ResizeParams{Mode: mode, CoordinateTransformation: ct, NearestMode: n.AttrString("nearest_mode", "round_prefer_floor")}
	cubicA := float64(n.AttrFloat("cubic_coeff_a", -0.75))
	exclude := n.AttrInt("exclude_outside", 0) != 0
	sizes, err := c.shapeArg(3)
	if err != nil {
		return nil, err
	}
	return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
		p := base
		sh := dims(in[0])
		s, ok, err := sizes.get(in)
		if err != nil {
			return nil, fmt.Errorf("sizes: %w", err)
		}
		// Exporters pass the unused one of scales and sizes as an empty
		// tensor rather than omitting it.
		if ok && len(s) > 0 {
			if p.Sizes, p.Scales, err = resizeSizes(sh, s, axes, policy); err != nil {
				return nil, err
			}
		} else if sc := optIn(in, 2); sc != nil && !kernels.IsEmpty(sc) {
			v, err := kernels.Float32s(sc)
			if err != nil {
				return nil, fmt.Errorf("scales: %w", err)
			}
			if p.Scales, err = resizeScales(len(sh), v, axes); err != nil {
				return nil, err
			}
		} else {
			return nil, fmt.Errorf("Resize needs scales or sizes")
		}
		if ct == "tf_crop_and_resize" {
			if mode == "cubic" || antialias {
				return nil, unsupportedf("Resize tf_crop_and_resize in %s mode (antialias %v)", mode, antialias)
			}
			roi := optIn(in, 1)
			if roi == nil || kernels.IsEmpty(roi) {
				return nil, fmt.Errorf("tf_crop_and_resize needs a roi")
			}
			if p.Roi, err = kernels.Float32s(roi); err != nil {
				return nil, fmt.Errorf("roi: %w", err)
			}
			p.Extrapolation = extrapolation
		}
		if antialias {
			if mode == "cubic" {
				if err := noAntialiasNeeded(sh, p); err != nil {
					return nil, err
				}
			}
			p.Antialias, p.ExcludeOutside = true, exclude
		}
		if mode == "cubic" {
			return one(kernels.ResizeCubic(in[0], p, cubicA, exclude))
		}
		return one(kernels.Resize(in[0], p))
	}, nil
}

// resizeAxes normalizes Resize-18's axes attribute (all axes when absent).
func resizeAxes(rank int, axes []int) ([]int, error) {
	if axes == nil {
		all := make([]int, rank)
		for i := range all {
			all[i] = i
		}
		return all, nil
	}
	return normAxes(axes, rank)
}

// resizeScales spreads scales given for axes over the full rank (1 elsewhere).
func resizeScales(rank int, v []float32, axes []int) ([]float32, error) {
	ax, err := resizeAxes(rank, axes)
	if err != nil {
		return nil, err
	}
	if len(v) != len(ax) {
		return nil, fmt.Errorf("%d scales for %d axes", len(v), len(ax))
	}
	out := make([]float32, rank)
	for i := range out {
		out[i] = 1
	}
	for i, a := range ax {
		out[a] = v[i]
	}
	return out, nil
}

// resizeSizes spreads sizes given for axes over the full rank (the input's
// extent elsewhere) and applies keep_aspect_ratio_policy: one scale for
// all the listed axes, the smallest (not_larger) or largest (not_smaller)
// of sizes/input, each output extent that scale times the input's, rounded
// half up, and that scale (not extent/input) mapping the coordinates, as
// ONNX Runtime does. Under "stretch" the scales are nil (extent/input).
func resizeSizes(in, v, axes []int, policy string) ([]int, []float32, error) {
	ax, err := resizeAxes(len(in), axes)
	if err != nil {
		return nil, nil, err
	}
	if len(v) != len(ax) {
		return nil, nil, fmt.Errorf("%d sizes for %d axes", len(v), len(ax))
	}
	out := append([]int(nil), in...)
	if policy == "stretch" {
		for i, a := range ax {
			out[a] = v[i]
		}
		return out, nil, nil
	}
	scale := 0.0
	for i, a := range ax {
		r := float64(v[i]) / float64(in[a])
		if i == 0 || policy == "not_larger" && r < scale || policy == "not_smaller" && r > scale {
			scale = r
		}
	}
	scales := make([]float32, len(in))
	for i := range scales {
		scales[i] = 1
	}
	for _, a := range ax {
		out[a] = int(math.Floor(scale*float64(in[a]) + 0.5))
		scales[a] = float32(scale)
	}
	return out, scales, nil
}

// noAntialiasNeeded accepts cubic antialias when no axis shrinks: the
// antialias filter only widens when downsampling, so upsampling is the
// plain resize. Cubic downsampling with antialias is not implemented and
// says so (linear is).
func noAntialiasNeeded(in []int, p kernels.ResizeParams) error {
	for i, d := range in {
		shrinks := p.Sizes != nil && p.Sizes[i] < d || p.Scales != nil && p.Scales[i] < 1
		if shrinks {
			return unsupportedf("Resize cubic antialias when downsampling (axis %d)", i)
		}
	}
	return nil
}
