package interp

import (
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/kernels"
)

// scatterOps read or write elements at computed indices: GatherND, the
// Scatter family and Compress.
func scatterOps(t map[string]opBuilder) {
	t["GatherND"] = func(c *buildCtx) (kernel, error) {
		bd := int(c.n.AttrInt("batch_dims", 0))
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(kernels.GatherND(in[0], in[1], bd))
		}, nil
	}
	scatter := func(c *buildCtx) (kernel, error) {
		axis := int(c.n.AttrInt("axis", 0))
		red := c.n.AttrString("reduction", "none")
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(kernels.ScatterElements(in[0], in[1], in[2], axis, red))
		}, nil
	}
	t["ScatterElements"], t["Scatter"] = scatter, scatter
	t["ScatterND"] = func(c *buildCtx) (kernel, error) {
		red := c.n.AttrString("reduction", "none")
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(kernels.ScatterND(in[0], in[1], in[2], red))
		}, nil
	}
	t["Compress"] = func(c *buildCtx) (kernel, error) {
		var axis *int
		if c.n.HasAttr("axis") {
			a := int(c.n.AttrInt("axis", 0))
			axis = &a
		}
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(kernels.Compress(in[0], in[1], axis))
		}, nil
	}
}
