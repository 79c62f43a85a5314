package interp

import (
	"fmt"
	"math"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/calib/kernels"
)

// Ops beyond what the corpus models and the quantizer need, mostly to run
// more of the ONNX node test suite.
func extraOps(t map[string]opBuilder) {
	for op, f := range map[string]func(float64) float64{
		"Tan": math.Tan, "Sinh": math.Sinh, "Cosh": math.Cosh, "Asin": math.Asin, "Acos": math.Acos,
		"Atan": math.Atan, "Asinh": math.Asinh, "Acosh": math.Acosh, "Atanh": math.Atanh,
	} {
		t[op] = unary(func(x *tensor.Dense) (*tensor.Dense, error) { return kernels.Float32Map(op, x, f) })
	}
	t["ThresholdedRelu"] = func(c *buildCtx) (kernel, error) {
		alpha := float64(c.n.AttrFloat("alpha", 1))
		return mapKernel("ThresholdedRelu", func(v float64) float64 {
			if v > alpha {
				return v
			}
			return 0
		}), nil
	}
	t["Celu"] = func(c *buildCtx) (kernel, error) {
		alpha := float64(c.n.AttrFloat("alpha", 1))
		return mapKernel("Celu", func(v float64) float64 {
			return max(0, v) + min(0, alpha*math.Expm1(v/alpha))
		}), nil
	}
	t["Shrink"] = func(c *buildCtx) (kernel, error) {
		bias, lambd := float64(c.n.AttrFloat("bias", 0)), float64(c.n.AttrFloat("lambd", 0.5))
		return mapKernel("Shrink", func(v float64) float64 {
			switch {
			case v < -lambd:
				return v + bias
			case v > lambd:
				return v - bias
			}
			return 0
		}), nil
	}
	t["IsNaN"] = unary(func(x *tensor.Dense) (*tensor.Dense, error) { return kernels.Classify("IsNaN", x, math.IsNaN) })
	t["IsInf"] = func(c *buildCtx) (kernel, error) {
		neg, pos := c.n.AttrInt("detect_negative", 1) != 0, c.n.AttrInt("detect_positive", 1) != 0
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(kernels.Classify("IsInf", in[0], func(v float64) bool {
				return neg && math.IsInf(v, -1) || pos && math.IsInf(v, 1)
			}))
		}, nil
	}
	t["PRelu"] = binary(kernels.PRelu)
	t["Mod"] = func(c *buildCtx) (kernel, error) {
		fmod := c.n.AttrInt("fmod", 0) != 0
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(kernels.Mod(in[0], in[1], fmod))
		}, nil
	}
	t["BitShift"] = func(c *buildCtx) (kernel, error) {
		left := c.n.AttrString("direction", "") == "LEFT"
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(kernels.BitShift(in[0], in[1], left))
		}, nil
	}
	t["Trilu"] = func(c *buildCtx) (kernel, error) {
		upper := c.n.AttrInt("upper", 1) != 0
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			k := 0.0
			if kt := optIn(in, 1); kt != nil {
				var err error
				if k, err = scalarFloat(kt); err != nil {
					return nil, fmt.Errorf("k: %w", err)
				}
			}
			return one(kernels.Trilu(in[0], int(k), upper))
		}, nil
	}
	t["Hardmax"] = func(c *buildCtx) (kernel, error) {
		old := c.n.Target.Version < 13
		def := int64(-1)
		if old {
			def = 1
		}
		axis := int(c.n.AttrInt("axis", def))
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(kernels.Hardmax(in[0], axis, old))
		}, nil
	}
	t["EyeLike"] = func(c *buildCtx) (kernel, error) {
		k := int(c.n.AttrInt("k", 0))
		var dt tensor.Dtype
		hasDT := c.n.HasAttr("dtype")
		if hasDT {
			var ok bool
			if dt, ok = dtypeOf(int32(c.n.AttrInt("dtype", 0))); !ok {
				return nil, unsupportedf("EyeLike dtype %d", c.n.AttrInt("dtype", 0))
			}
		}
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			d := in[0].Dtype()
			if hasDT {
				d = dt
			}
			return one(kernels.EyeLike(in[0], k, d))
		}, nil
	}
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
	t["Dropout"] = buildDropout
	t["MeanVarianceNormalization"] = func(c *buildCtx) (kernel, error) {
		axes := ints(c.n.AttrInts("axes", []int64{0, 2, 3}))
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(meanVarianceNormalize(in[0], axes))
		}, nil
	}
}

func mapKernel(op string, f func(float64) float64) kernel {
	return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
		return one(kernels.Float32Map(op, in[0], f))
	}
}

// buildDropout is Dropout as inference computes it: the identity, with an
// all-true mask when asked for. Training mode is accepted only with ratio 0,
// where it is the identity too; a real random mask is unsupported.
func buildDropout(c *buildCtx) (kernel, error) {
	if c.n.Target.Version < 7 && c.n.AttrInt("is_test", 0) == 0 {
		return nil, unsupportedf("Dropout in training mode (is_test=0)")
	}
	if c.n.Target.Version >= 12 && len(c.n.Inputs) > 2 && c.n.Inputs[2] != nil {
		if t := c.constInput(2); t != nil {
			if on, err := truth(t); err != nil || on {
				if r := c.constInput(1); r == nil || !isZero(r) {
					return nil, unsupportedf("Dropout in training mode")
				}
			}
		}
	}
	wantMask := len(c.n.Outputs) > 1 && c.n.Outputs[1] != nil
	return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
		if tm := optIn(in, 2); tm != nil {
			on, err := truth(tm)
			if err != nil {
				return nil, fmt.Errorf("training_mode: %w", err)
			}
			if on && (optIn(in, 1) == nil || !isZero(in[1])) {
				return nil, unsupportedf("Dropout in training mode with a non-zero ratio (random masks)")
			}
		}
		out := []*tensor.Dense{in[0]}
		if wantMask {
			mask := make([]bool, kernels.NumElems(in[0]))
			for i := range mask {
				mask[i] = true
			}
			m, err := newDense(dims(in[0]), mask)
			if err != nil {
				return nil, err
			}
			out = append(out, m)
		}
		return out, nil
	}, nil
}

func isZero(t *tensor.Dense) bool {
	v, err := scalarFloat(t)
	return err == nil && v == 0
}

// meanVarianceNormalize computes (x - mean) / sqrt(var) over axes, with
// ONNX's epsilon-free formula of the reference implementation (1e-9 added).
func meanVarianceNormalize(x *tensor.Dense, axes []int) (*tensor.Dense, error) {
	mean, err := kernels.ReduceMean(x, axes, true, false)
	if err != nil {
		return nil, err
	}
	d, err := kernels.Sub(x, mean)
	if err != nil {
		return nil, err
	}
	sq, err := kernels.Mul(d, d)
	if err != nil {
		return nil, err
	}
	v, err := kernels.ReduceMean(sq, axes, true, false)
	if err != nil {
		return nil, err
	}
	std, err := kernels.Float32Map("MeanVarianceNormalization", v, func(f float64) float64 { return math.Sqrt(f) + 1e-9 })
	if err != nil {
		return nil, err
	}
	return kernels.Div(d, std)
}

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
			lp, err := kernels.LogSoftmax(in[0], 1, false)
			if err != nil {
				return nil, err
			}
			loss, err := kernels.NegativeLogLikelihoodLoss(lp, in[1], optIn(in, 2), red, ig)
			if err != nil {
				return nil, err
			}
			return []*tensor.Dense{loss, lp}, nil
		}, nil
	}
}
