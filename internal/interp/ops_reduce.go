package interp

import (
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/kernels"
)

func reduceOps(t map[string]opBuilder) {
	// The opset from which each reduction takes its axes as an input.
	for op, r := range map[string]struct {
		red       kernels.Reduction
		axesInput int64
	}{
		"ReduceSum": {kernels.RedSum, 13}, "ReduceMean": {kernels.RedMean, 18},
		"ReduceMax": {kernels.RedMax, 18}, "ReduceMin": {kernels.RedMin, 18},
		"ReduceProd": {kernels.RedProd, 18}, "ReduceL1": {kernels.RedL1, 18},
		"ReduceL2": {kernels.RedL2, 18}, "ReduceSumSquare": {kernels.RedSumSquare, 18},
		"ReduceLogSum": {kernels.RedLogSum, 18}, "ReduceLogSumExp": {kernels.RedLogSumExp, 18},
	} {
		t[op] = func(c *buildCtx) (kernel, error) {
			keep := c.n.AttrInt("keepdims", 1) != 0
			noop := c.n.AttrInt("noop_with_empty_axes", 0) != 0
			axes, err := c.axesArg(r.axesInput)
			if err != nil {
				return nil, err
			}
			return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
				a, _, err := axes.get(in)
				if err != nil {
					return nil, err
				}
				return one(kernels.Reduce(r.red, in[0], a, keep, noop))
			}, nil
		}
	}
	for op, log := range map[string]bool{"Softmax": false, "LogSoftmax": true} {
		t[op] = func(c *buildCtx) (kernel, error) {
			old := c.n.Target.Version < 13
			def := int64(-1)
			if old {
				def = 1
			}
			axis := int(c.n.AttrInt("axis", def))
			f := kernels.Softmax
			if log {
				f = kernels.LogSoftmax
			}
			return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
				return one(f(in[0], axis, old))
			}, nil
		}
	}
}
