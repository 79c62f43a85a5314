package interp

import (
	"fmt"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/kernels"
)

// uniqueOps are Unique and MaxUnpool.
func uniqueOps(t map[string]opBuilder) {
	t["Unique"] = func(c *buildCtx) (kernel, error) {
		sorted := c.n.AttrInt("sorted", 1) != 0
		axis, hasAxis := int(c.n.AttrInt("axis", 0)), c.n.HasAttr("axis")
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return kernels.Unique(in[0], sorted, axis, hasAxis)
		}, nil
	}
	t["MaxUnpool"] = func(c *buildCtx) (kernel, error) {
		w := c.window()
		outShape, err := c.shapeArg(2)
		if err != nil {
			return nil, err
		}
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			osh, _, err := outShape.get(in)
			if err != nil {
				return nil, fmt.Errorf("output_shape: %w", err)
			}
			return one(kernels.MaxUnpool(in[0], in[1], w.Kernel, w.Strides, w.Pads, osh))
		}, nil
	}
}
