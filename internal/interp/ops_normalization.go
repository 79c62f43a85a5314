package interp

import (
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/kernels"
)

// normalizationOps normalize over statistics of the input (MeanVariance,
// Layer, Instance, Group, RMS) or given ones (BatchNormalization at
// inference); RotaryEmbedding, the other per-head transform of opset 23,
// lives with them.
func normalizationOps(t map[string]opBuilder) {
	t["BatchNormalization"] = func(c *buildCtx) (kernel, error) {
		if c.n.AttrInt("training_mode", 0) != 0 {
			// Training mode normalizes with the batch's own statistics and
			// returns the updated running mean and variance: deterministic.
			eps := c.n.AttrFloat("epsilon", 1e-5)
			momentum := c.n.AttrFloat("momentum", 0.9)
			return func(_ *runCtx, fr *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
				return kernels.BatchNormalizationTraining(in[0], in[1], in[2], in[3], in[4], eps, momentum)
			}, nil
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
	t["RMSNormalization"] = func(c *buildCtx) (kernel, error) {
		axis := int(c.n.AttrInt("axis", -1))
		eps := c.n.AttrFloat("epsilon", 1e-5)
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(kernels.RMSNormalization(in[0], in[1], axis, eps))
		}, nil
	}
	t["RotaryEmbedding"] = func(c *buildCtx) (kernel, error) {
		interleaved := c.n.AttrInt("interleaved", 0) != 0
		heads := int(c.n.AttrInt("num_heads", 0))
		dim := int(c.n.AttrInt("rotary_embedding_dim", 0))
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(kernels.RotaryEmbedding(in[0], in[1], in[2], optIn(in, 3), interleaved, heads, dim))
		}, nil
	}
	t["Attention"] = func(c *buildCtx) (kernel, error) {
		n := c.n
		for i := 4; i < len(n.Inputs); i++ {
			if n.Inputs[i] != nil {
				return nil, unsupportedf("Attention with past key/value inputs")
			}
		}
		if n.AttrFloat("softcap", 0) != 0 {
			return nil, unsupportedf("Attention softcap")
		}
		if len(n.Outputs) > 3 && n.Outputs[3] != nil {
			return nil, unsupportedf("Attention qk_matmul_output")
		}
		p := kernels.AttentionParams{
			QHeads: int(n.AttrInt("q_num_heads", 0)), KVHeads: int(n.AttrInt("kv_num_heads", 0)),
			Scale: n.AttrFloat("scale", 0), Causal: n.AttrInt("is_causal", 0) != 0,
		}
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			y, err := kernels.Attention(in[0], in[1], in[2], optIn(in, 3), p)
			if err != nil {
				return nil, err
			}
			outs := []*tensor.Dense{y}
			if len(n.Outputs) > 1 {
				// Without a past, the present key and value are K and V,
				// split into heads when 3-D.
				for _, x := range in[1:3] {
					if len(kernels.Dims(x)) == 3 {
						if x, err = kernels.Reshape(x, []int{0, 0, p.KVHeads, -1}, false); err == nil {
							x, err = kernels.Transpose(x, []int{0, 2, 1, 3})
						}
						if err != nil {
							return nil, err
						}
					}
					outs = append(outs, x)
				}
			}
			return outs, nil
		}, nil
	}
	t["MeanVarianceNormalization"] = func(c *buildCtx) (kernel, error) {
		axes := ints(c.n.AttrInts("axes", []int64{0, 2, 3}))
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(kernels.MeanVarianceNormalization(in[0], axes))
		}, nil
	}
}
