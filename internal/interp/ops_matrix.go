package interp

import (
	"fmt"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/kernels"
)

// matrixOps build or select matrices: Trilu, Hardmax and EyeLike.
func matrixOps(t map[string]opBuilder) {
	t["Trilu"] = func(c *buildCtx) (kernel, error) {
		upper := c.n.AttrInt("upper", 1) != 0
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			k := 0.0
			if kt := optIn(in, 1); kt != nil {
				var err error
				if k, err = scalarFloat(kt); err != nil {
					return nil, fmt.Errorf("k: %w", err)
				}
			}
			return one(kernels.Trilu(in[0], int(k), upper))
		}, nil
	}
	t["Hardmax"] = func(c *buildCtx) (kernel, error) {
		old := c.n.Target.Version < 13
		def := int64(-1)
		if old {
			def = 1
		}
		axis := int(c.n.AttrInt("axis", def))
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(kernels.Hardmax(in[0], axis, old))
		}, nil
	}
	t["EyeLike"] = func(c *buildCtx) (kernel, error) {
		k := int(c.n.AttrInt("k", 0))
		var dt tensor.Dtype
		hasDT := c.n.HasAttr("dtype")
		if hasDT {
			var ok bool
			if dt, ok = dtypeOf(int32(c.n.AttrInt("dtype", 0))); !ok {
				return nil, unsupportedf("EyeLike dtype %d", c.n.AttrInt("dtype", 0))
			}
		}
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			d := in[0].Dtype()
			if hasDT {
				d = dt
			}
			return one(kernels.EyeLike(in[0], k, d))
		}, nil
	}
}
