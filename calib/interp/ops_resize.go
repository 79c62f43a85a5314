package interp

import (
	"fmt"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/calib/kernels"
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
	if ct == "tf_crop_and_resize" {
		return nil, unsupportedf("Resize coordinate_transformation_mode tf_crop_and_resize")
	}
	if n.HasAttr("axes") || n.AttrString("keep_aspect_ratio_policy", "stretch") != "stretch" {
		return nil, unsupportedf("Resize axes / keep_aspect_ratio_policy")
	}
	if n.AttrInt("antialias", 0) != 0 {
		return nil, unsupportedf("Resize antialias")
	}
	base := kernels.ResizeParams{Mode: mode, CoordinateTransformation: ct, NearestMode: n.AttrString("nearest_mode", "round_prefer_floor")}
	cubicA := float64(n.AttrFloat("cubic_coeff_a", -0.75))
	exclude := n.AttrInt("exclude_outside", 0) != 0
	sizes, err := c.shapeArg(3)
	if err != nil {
		return nil, err
	}
	return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
		p := base
		s, ok, err := sizes.get(in)
		if err != nil {
			return nil, fmt.Errorf("sizes: %w", err)
		}
		if ok {
			p.Sizes = s
		} else if sc := optIn(in, 2); sc != nil {
			if p.Scales, err = kernels.Float32s(sc); err != nil {
				return nil, fmt.Errorf("scales: %w", err)
			}
		} else {
			return nil, fmt.Errorf("Resize needs scales or sizes")
		}
		if mode == "cubic" {
			return one(kernels.ResizeCubic(in[0], p, cubicA, exclude))
		}
		return one(kernels.Resize(in[0], p))
	}, nil
}
