package interp

import (
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/kernels"
)

func quantOps(t map[string]opBuilder) {
	t["QuantizeLinear"] = func(c *buildCtx) (kernel, error) {
		axis := int(c.n.AttrInt("axis", 1))
		to := tensor.Uint8
		if a := c.n.AttrInt("output_dtype", 0); a != 0 {
			dt, ok := dtypeOf(int32(a))
			if !ok {
				return nil, unsupportedf("output_dtype %d", a)
			}
			to = dt
		}
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(kernels.QuantizeLinear(in[0], in[1], optIn(in, 2), axis, to))
		}, nil
	}
	t["DequantizeLinear"] = func(c *buildCtx) (kernel, error) {
		axis := int(c.n.AttrInt("axis", 1))
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(kernels.DequantizeLinear(in[0], in[1], optIn(in, 2), axis))
		}, nil
	}
}
