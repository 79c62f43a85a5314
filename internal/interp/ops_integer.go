package interp

import (
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/kernels"
)

// The integer and QLinear ops are computed in float32 from dequantized
// operands: exact for the integer products while partial sums stay below
// 2^24, which covers test-sized operands; calibration never runs them on
// real models (the quantizer emits QDQ, not QLinear ops).
func integerOps(t map[string]opBuilder) {
	t["MatMulInteger"] = func(c *buildCtx) (kernel, error) {
		return func(rc *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			a, err := kernels.SubZeroPoint(in[0], optIn(in, 2), -2)
			if err != nil {
				return nil, err
			}
			b, err := kernels.SubZeroPoint(in[1], optIn(in, 3), -1)
			if err != nil {
				return nil, err
			}
			y, err := kernels.MatMul(a, b, rc.workers)
			if err != nil {
				return nil, err
			}
			return one(kernels.Cast(y, tensor.Int32))
		}, nil
	}
	t["ConvInteger"] = func(c *buildCtx) (kernel, error) {
		p := kernels.ConvParams{Window: c.window(), Group: int(c.n.AttrInt("group", 1))}
		return func(rc *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			x, err := kernels.SubZeroPoint(in[0], optIn(in, 2), 1)
			if err != nil {
				return nil, err
			}
			w, err := kernels.SubZeroPoint(in[1], optIn(in, 3), 0)
			if err != nil {
				return nil, err
			}
			y, err := kernels.Conv(x, w, nil, p, rc.workers)
			if err != nil {
				return nil, err
			}
			return one(kernels.Cast(y, tensor.Int32))
		}, nil
	}
	t["QLinearMatMul"] = func(c *buildCtx) (kernel, error) {
		return func(rc *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			a, err := kernels.DequantizeLinear(in[0], in[1], in[2], 0)
			if err != nil {
				return nil, err
			}
			b, err := kernels.DequantizeLinear(in[3], in[4], in[5], 1)
			if err != nil {
				return nil, err
			}
			y, err := kernels.MatMul(a, b, rc.workers)
			if err != nil {
				return nil, err
			}
			return one(kernels.QuantizeLinear(y, in[6], in[7], 1, in[7].Dtype()))
		}, nil
	}
	t["QLinearConv"] = func(c *buildCtx) (kernel, error) {
		p := kernels.ConvParams{Window: c.window(), Group: int(c.n.AttrInt("group", 1))}
		return func(rc *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			x, err := kernels.DequantizeLinear(in[0], in[1], in[2], 1)
			if err != nil {
				return nil, err
			}
			w, err := kernels.DequantizeLinear(in[3], in[4], in[5], 0)
			if err != nil {
				return nil, err
			}
			var bias *tensor.Dense
			if b := optIn(in, 8); b != nil {
				// The bias is int32 in units of x_scale * w_scale.
				s, err := kernels.Mul(in[1], in[4])
				if err != nil {
					return nil, err
				}
				if bias, err = kernels.DequantizeLinear(b, s, nil, 0); err != nil {
					return nil, err
				}
			}
			y, err := kernels.Conv(x, w, bias, p, rc.workers)
			if err != nil {
				return nil, err
			}
			return one(kernels.QuantizeLinear(y, in[6], in[7], 1, in[7].Dtype()))
		}, nil
	}
	t["DynamicQuantizeLinear"] = func(c *buildCtx) (kernel, error) {
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return kernels.DynamicQuantizeLinear(in[0])
		}, nil
	}
}
