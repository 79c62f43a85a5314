package interp

import (
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/kernels"
)

func gridSampleOps(t map[string]opBuilder) {
	t["GridSample"] = func(c *buildCtx) (kernel, error) {
		g := kernels.GridSampler{
			Mode:    c.n.AttrString("mode", "bilinear"),
			Padding: c.n.AttrString("padding_mode", "zeros"),
			Align:   c.n.AttrInt("align_corners", 0) != 0,
		}
		switch g.Mode {
		case "bilinear", "nearest", "bicubic":
		default:
			return nil, unsupportedf("GridSample mode %q", g.Mode)
		}
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(g.Run(in[0], in[1]))
		}, nil
	}
}
