package interp

import (
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/calib/kernels"
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
	t["BatchNormalization"] = func(c *buildCtx) (kernel, error) {
		if c.n.AttrInt("training_mode", 0) != 0 {
			return nil, unsupportedf("BatchNormalization training_mode")
		}
		for _, o := range c.n.Outputs[1:] {
			if o != nil {
				return nil, unsupportedf("BatchNormalization running statistics outputs")
			}
		}
		if c.n.Target.Version < 7 && c.n.AttrInt("spatial", 1) == 0 {
			return nil, unsupportedf("BatchNormalization spatial=0")
		}
		eps := c.n.AttrFloat("epsilon", 1e-5)
		return func(_ *runCtx, fr *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(kernels.BatchNormalizationWith(fr.alloc, in[0], in[1], in[2], in[3], in[4], eps))
		}, nil
	}
	t["LayerNormalization"] = func(c *buildCtx) (kernel, error) {
		axis := int(c.n.AttrInt("axis", -1))
		eps := c.n.AttrFloat("epsilon", 1e-5)
		if c.n.AttrInt("stash_type", 1) != 1 {
			return nil, unsupportedf("LayerNormalization stash_type other than float")
		}
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			y, mean, inv, err := kernels.LayerNormalization(in[0], in[1], optIn(in, 2), axis, eps)
			if err != nil {
				return nil, err
			}
			return []*tensor.Dense{y, mean, inv}, nil
		}, nil
	}
	t["InstanceNormalization"] = func(c *buildCtx) (kernel, error) {
		eps := c.n.AttrFloat("epsilon", 1e-5)
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(kernels.InstanceNormalization(in[0], in[1], in[2], eps))
		}, nil
	}
	t["GroupNormalization"] = func(c *buildCtx) (kernel, error) {
		eps := c.n.AttrFloat("epsilon", 1e-5)
		groups := int(c.n.AttrInt("num_groups", 1))
		perChannel := c.n.Target.Version >= 21
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(kernels.GroupNormalization(in[0], in[1], in[2], groups, eps, perChannel))
		}, nil
	}
}
