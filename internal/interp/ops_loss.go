package interp

import (
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/kernels"
)

// lossOps are the training losses, which the node tests exercise.
func lossOps(t map[string]opBuilder) {
	ignore := func(c *buildCtx) *int {
		if !c.n.HasAttr("ignore_index") {
			return nil
		}
		v := int(c.n.AttrInt("ignore_index", 0))
		return &v
	}
	t["NegativeLogLikelihoodLoss"] = func(c *buildCtx) (kernel, error) {
		red, ig := c.n.AttrString("reduction", "mean"), ignore(c)
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(kernels.NegativeLogLikelihoodLoss(in[0], in[1], optIn(in, 2), red, ig))
		}, nil
	}
	t["SoftmaxCrossEntropyLoss"] = func(c *buildCtx) (kernel, error) {
		red, ig := c.n.AttrString("reduction", "mean"), ignore(c)
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			loss, lp, err := kernels.SoftmaxCrossEntropyLoss(in[0], in[1], optIn(in, 2), red, ig)
			if err != nil {
				return nil, err
			}
			return []*tensor.Dense{loss, lp}, nil
		}, nil
	}
}
