package interp

import (
	"fmt"
	"math"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/calib/kernels"
)

// The integer and QLinear ops are computed in float32 from dequantized
// operands: exact for the integer products while partial sums stay below
// 2^24, which covers test-sized operands; calibration never runs them on
// real models (the quantizer emits QDQ, not QLinear ops).
func integerOps(t map[string]opBuilder) {
	t["MatMulInteger"] = func(c *buildCtx) (kernel, error) {
		return func(rc *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			a, err := centered(in[0], optIn(in, 2), -2)
			if err != nil {
				return nil, err
			}
			b, err := centered(in[1], optIn(in, 3), -1)
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
			x, err := centered(in[0], optIn(in, 2), 1)
			if err != nil {
				return nil, err
			}
			w, err := centered(in[1], optIn(in, 3), 0)
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
			return dynamicQuantize(in[0])
		}, nil
	}
}

// centered returns x - zeroPoint as float32. A 1-D zero point applies along
// axis (negative counts from the end: -2 for the rows of A, -1 for the
// columns of B, 0 for the output channels of W); a scalar to every element.
func centered(x, zp *tensor.Dense, axis int) (*tensor.Dense, error) {
	xf, err := kernels.Cast(x, tensor.Float32)
	if err != nil {
		return nil, err
	}
	if zp == nil {
		return xf, nil
	}
	zf, err := kernels.Cast(zp, tensor.Float32)
	if err != nil {
		return nil, err
	}
	if kernels.NumElems(zp) > 1 {
		// Put the zero points on axis of x.
		shape := make([]int, x.Dims())
		for i := range shape {
			shape[i] = 1
		}
		a := axis
		if a < 0 {
			a += len(shape)
		}
		if a < 0 || a >= len(shape) {
			return nil, fmt.Errorf("zero point of %d values for shape %v", kernels.NumElems(zp), x.Shape())
		}
		shape[a] = kernels.NumElems(zp)
		if zf, err = view(zf, shape); err != nil {
			return nil, err
		}
	}
	return kernels.Sub(xf, zf)
}

// dynamicQuantize is DynamicQuantizeLinear: uint8 with the range widened to
// include 0, scale = (max - min) / 255 and a rounded, saturated zero point.
func dynamicQuantize(x *tensor.Dense) ([]*tensor.Dense, error) {
	xs, err := kernels.Float32s(x)
	if err != nil {
		return nil, err
	}
	lo, hi := float32(0), float32(0)
	for _, v := range xs {
		lo, hi = min(lo, v), max(hi, v)
	}
	scale := (hi - lo) / 255
	zp := float32(0)
	if scale != 0 {
		zp = float32(math.RoundToEven(float64(min(max(-lo/scale, 0), 255))))
	}
	st, err := newDense(nil, []float32{scale})
	if err != nil {
		return nil, err
	}
	zt, err := newDense(nil, []uint8{uint8(zp)})
	if err != nil {
		return nil, err
	}
	if scale == 0 {
		st1, _ := newDense(nil, []float32{1})
		y, err := kernels.QuantizeLinear(x, st1, zt, 0, tensor.Uint8)
		return []*tensor.Dense{y, st, zt}, err
	}
	y, err := kernels.QuantizeLinear(x, st, zt, 0, tensor.Uint8)
	if err != nil {
		return nil, err
	}
	return []*tensor.Dense{y, st, zt}, nil
}
