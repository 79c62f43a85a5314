package interp

import (
	"fmt"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/kernels"
)

func nnOps(t map[string]opBuilder) {
	t["RoiAlign"] = func(c *buildCtx) (kernel, error) {
		p := kernels.RoiAlignParams{
			Max:           c.n.AttrString("mode", "avg") == "max",
			HalfPixel:     c.n.Target.Version >= 16 && c.n.AttrString("coordinate_transformation_mode", "half_pixel") == "half_pixel",
			OutH:          int(c.n.AttrInt("output_height", 1)),
			OutW:          int(c.n.AttrInt("output_width", 1)),
			SamplingRatio: int(c.n.AttrInt("sampling_ratio", 0)),
			SpatialScale:  c.n.AttrFloat("spatial_scale", 1),
		}
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(kernels.RoiAlign(in[0], in[1], in[2], p))
		}, nil
	}
	t["Conv"] = buildConv
	t["ConvTranspose"] = buildConvTranspose
	t["MaxPool"] = buildPool(kernels.MaxPoolWith)
	t["AveragePool"] = buildPool(func(_ kernels.Alloc, x *tensor.Dense, p kernels.PoolParams) (*tensor.Dense, error) {
		return kernels.AveragePool(x, p)
	})
	t["GlobalAveragePool"] = unaryAlloc(kernels.GlobalAveragePoolWith)
	t["GlobalMaxPool"] = unary(kernels.GlobalMaxPool)
	t["Gemm"] = buildGemm
	t["MatMul"] = func(c *buildCtx) (kernel, error) {
		return func(rc *runCtx, fr *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(kernels.MatMulWith(fr.alloc, in[0], in[1], rc.workers))
		}, nil
	}
}

func ints(v []int64) []int {
	if v == nil {
		return nil
	}
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}

// window decodes the attributes Conv, ConvTranspose and the pools share.
func (c *buildCtx) window() kernels.Window {
	return kernels.Window{
		Kernel:    ints(c.n.AttrInts("kernel_shape", nil)),
		Strides:   ints(c.n.AttrInts("strides", nil)),
		Dilations: ints(c.n.AttrInts("dilations", nil)),
		Pads:      ints(c.n.AttrInts("pads", nil)),
		AutoPad:   c.n.AttrString("auto_pad", "NOTSET"),
	}
}

func optIn(in []*tensor.Dense, i int) *tensor.Dense {
	if i < len(in) {
		return in[i]
	}
	return nil
}

func buildConv(c *buildCtx) (kernel, error) {
	p := kernels.ConvParams{Window: c.window(), Group: int(c.n.AttrInt("group", 1))}
	// A weight known at New is packed for the GEMM once here rather than on
	// every Run; the plan is read-only, so concurrent Runs share it. A weight
	// the plan cannot take (wrong type or rank) keeps the generic path, which
	// reports the problem at Run as before.
	if w := c.constInput(1); w != nil {
		if cp, err := kernels.NewConvPlan(w, p); err == nil {
			return func(rc *runCtx, fr *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
				return one(cp.ConvWith(fr.alloc, in[0], optIn(in, 2), rc.workers))
			}, nil
		}
	}
	return func(rc *runCtx, fr *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
		return one(kernels.ConvWith(fr.alloc, in[0], in[1], optIn(in, 2), p, rc.workers))
	}, nil
}

func buildConvTranspose(c *buildCtx) (kernel, error) {
	p := kernels.ConvTransposeParams{
		Window:        c.window(),
		Group:         int(c.n.AttrInt("group", 1)),
		OutputPadding: ints(c.n.AttrInts("output_padding", nil)),
		OutputShape:   ints(c.n.AttrInts("output_shape", nil)),
	}
	return func(rc *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
		return one(kernels.ConvTranspose(in[0], in[1], optIn(in, 2), p, rc.workers))
	}, nil
}

func buildPool(f func(kernels.Alloc, *tensor.Dense, kernels.PoolParams) (*tensor.Dense, error)) opBuilder {
	return func(c *buildCtx) (kernel, error) {
		p := kernels.PoolParams{
			Window:          c.window(),
			CeilMode:        c.n.AttrInt("ceil_mode", 0) != 0,
			CountIncludePad: c.n.AttrInt("count_include_pad", 0) != 0,
		}
		if len(c.n.Outputs) > 1 && c.n.Outputs[1] != nil {
			if c.n.Target.OpType != "MaxPool" {
				return nil, fmt.Errorf("%s has one output", c.n.Target.OpType)
			}
			columnMajor := c.n.AttrInt("storage_order", 0) != 0
			return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
				y, ind, err := kernels.MaxPoolIndices(in[0], p, columnMajor)
				if err != nil {
					return nil, err
				}
				return []*tensor.Dense{y, ind}, nil
			}, nil
		}
		return func(_ *runCtx, fr *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(f(fr.alloc, in[0], p))
		}, nil
	}
}

func buildGemm(c *buildCtx) (kernel, error) {
	ta, tb := c.n.AttrInt("transA", 0) != 0, c.n.AttrInt("transB", 0) != 0
	alpha, beta := c.n.AttrFloat("alpha", 1), c.n.AttrFloat("beta", 1)
	return func(rc *runCtx, fr *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
		return one(kernels.GemmWith(fr.alloc, in[0], in[1], optIn(in, 2), ta, tb, alpha, beta, rc.workers))
	}, nil
}
