package interp

import (
	"math"
	"strings"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/kernels"
)

// linalgOps are Einsum, Det and NonMaxSuppression.
func linalgOps(t map[string]opBuilder) {
	t["Einsum"] = func(c *buildCtx) (kernel, error) {
		eq := strings.ReplaceAll(c.n.AttrString("equation", ""), " ", "")
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(kernels.Einsum(eq, in))
		}, nil
	}
	t["Det"] = unary(kernels.Det)
	t["NonMaxSuppression"] = func(c *buildCtx) (kernel, error) {
		center := c.n.AttrInt("center_point_box", 0) != 0
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			maxOut, iouTh, scoreTh := 0, 0.0, math.Inf(-1)
			if t := optIn(in, 2); t != nil {
				v, err := scalarFloat(t)
				if err != nil {
					return nil, err
				}
				maxOut = int(v)
			}
			var err error
			if t := optIn(in, 3); t != nil {
				if iouTh, err = scalarFloat(t); err != nil {
					return nil, err
				}
			}
			if t := optIn(in, 4); t != nil {
				if scoreTh, err = scalarFloat(t); err != nil {
					return nil, err
				}
			}
			return one(kernels.NonMaxSuppression(in[0], in[1], maxOut, iouTh, scoreTh, center))
		}, nil
	}
}
