package interp

import (
	"fmt"
	"math"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/kernels"
	"github.com/onnxquant/onnxquant/onnxio"
)

func elementwiseOps(t map[string]opBuilder) {
	for op, f := range map[string]func(*tensor.Dense) (*tensor.Dense, error){
		"Abs": kernels.Abs, "Neg": kernels.Neg, "Sigmoid": kernels.Sigmoid,
		"Sqrt": kernels.Sqrt, "Log": kernels.Log, "Exp": kernels.Exp, "Erf": kernels.Erf,
		"Tanh": kernels.Tanh, "Sin": kernels.Sin, "Cos": kernels.Cos, "Floor": kernels.Floor,
		"Ceil": kernels.Ceil, "Round": kernels.Round, "Reciprocal": kernels.Reciprocal,
		"Softplus": kernels.Softplus, "Softsign": kernels.Softsign,
		"Sign": kernels.Sign, "Not": kernels.Not,
	} {
		t[op] = unary(f)
	}
	for op, f := range map[string]func(a, b *tensor.Dense) (*tensor.Dense, error){
		"Pow": kernels.Pow, "Equal": kernels.Equal, "Greater": kernels.Greater, "Less": kernels.Less,
		"GreaterOrEqual": kernels.GreaterOrEqual, "LessOrEqual": kernels.LessOrEqual,
		"And": kernels.And, "Or": kernels.Or, "Xor": kernels.Xor,
	} {
		t[op] = binary(f)
	}
	// The ops of convolutional networks' hot paths write into recycled
	// buffers when the Run allows it (see NonRetaining).
	t["Relu"] = unaryAlloc(kernels.ReluWith)
	t["HardSwish"] = unaryAlloc(kernels.HardSwishWith)
	for op, f := range map[string]func(kernels.Alloc, *tensor.Dense, *tensor.Dense) (*tensor.Dense, error){
		"Add": kernels.AddWith, "Sub": kernels.SubWith, "Mul": kernels.MulWith, "Div": kernels.DivWith,
	} {
		t[op] = binaryAlloc(f)
	}
	for op, f := range map[string]func(...*tensor.Dense) (*tensor.Dense, error){
		"Sum": kernels.Sum, "Max": kernels.Max, "Min": kernels.Min, "Mean": kernels.Mean,
	} {
		t[op] = variadic(f)
	}
	t["Identity"] = func(c *buildCtx) (kernel, error) {
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return []*tensor.Dense{in[0]}, nil
		}, nil
	}
	t["Where"] = func(c *buildCtx) (kernel, error) {
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(kernels.Where(in[0], in[1], in[2]))
		}, nil
	}
	t["HardSigmoid"] = func(c *buildCtx) (kernel, error) {
		alpha, beta := c.n.AttrFloat("alpha", 0.2), c.n.AttrFloat("beta", 0.5)
		return func(_ *runCtx, fr *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(kernels.HardSigmoidWith(fr.alloc, in[0], alpha, beta))
		}, nil
	}
	t["LeakyRelu"] = func(c *buildCtx) (kernel, error) {
		alpha := c.n.AttrFloat("alpha", 0.01)
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(kernels.LeakyRelu(in[0], alpha))
		}, nil
	}
	t["Elu"] = func(c *buildCtx) (kernel, error) {
		alpha := c.n.AttrFloat("alpha", 1)
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(kernels.Elu(in[0], alpha))
		}, nil
	}
	t["Selu"] = func(c *buildCtx) (kernel, error) {
		alpha, gamma := c.n.AttrFloat("alpha", 1.67326319217681884765625), c.n.AttrFloat("gamma", 1.05070102214813232421875)
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(kernels.Selu(in[0], alpha, gamma))
		}, nil
	}
	t["Gelu"] = func(c *buildCtx) (kernel, error) {
		approx := c.n.AttrString("approximate", "none")
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(kernels.Gelu(in[0], approx))
		}, nil
	}
	t["Clip"] = buildClip
	t["Cast"] = func(c *buildCtx) (kernel, error) {
		to := int32(c.n.AttrInt("to", 0))
		dt, ok := dtypeOf(to)
		if !ok {
			return nil, unsupportedf("Cast to data type %d", to)
		}
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(castTo(in[0], dt, to))
		}, nil
	}
	t["CastLike"] = func(c *buildCtx) (kernel, error) {
		// A float16 or bfloat16 target is carried as float32: its declared
		// type says to round through the 16-bit format.
		to := c.n.Inputs[1].DType
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			if to == dtFloat16 || to == dtBF16 {
				return one(castTo(in[0], tensor.Float32, to))
			}
			return one(kernels.Cast(in[0], in[1].Dtype()))
		}, nil
	}
}

// castTo is Cast plus the rounding a 16-bit float target implies: values
// are carried as float32 but must hold only what the target can represent.
func castTo(x *tensor.Dense, dt tensor.Dtype, to int32) (*tensor.Dense, error) {
	if x.Dtype() == dt && to != dtFloat16 && to != dtBF16 {
		return x, nil
	}
	y, err := kernels.Cast(x, dt)
	if err != nil || (to != dtFloat16 && to != dtBF16) {
		return y, err
	}
	// Round through the 16-bit format so the values are the ones the
	// target type can hold.
	src := flat(y).([]float32)
	out := make([]float32, len(src))
	for i, v := range src {
		if to == dtFloat16 {
			out[i] = onnxio.Float16ToFloat32(onnxio.Float32ToFloat16(v))
		} else {
			out[i] = onnxio.BFloat16ToFloat32(onnxio.Float32ToBFloat16(v))
		}
	}
	return newDense(dims(y), out)
}

// buildClip handles both forms: min/max attributes (opset < 11) and optional
// min/max inputs (opset >= 11).
func buildClip(c *buildCtx) (kernel, error) {
	if c.n.Target.Version < 11 {
		lo := float64(c.n.AttrFloat("min", -math.MaxFloat32))
		hi := float64(c.n.AttrFloat("max", math.MaxFloat32))
		return func(_ *runCtx, fr *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(kernels.ClipWith(fr.alloc, in[0], lo, hi))
		}, nil
	}
	return func(_ *runCtx, fr *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
		lo, hi := math.Inf(-1), math.Inf(1)
		var err error
		if len(in) > 1 && in[1] != nil {
			if lo, err = scalarFloat(in[1]); err != nil {
				return nil, fmt.Errorf("min: %w", err)
			}
		}
		if len(in) > 2 && in[2] != nil {
			if hi, err = scalarFloat(in[2]); err != nil {
				return nil, fmt.Errorf("max: %w", err)
			}
		}
		return one(kernels.ClipWith(fr.alloc, in[0], lo, hi))
	}, nil
}

// scalarFloat reads a one-element tensor of any numeric type.
func scalarFloat(t *tensor.Dense) (float64, error) {
	if kernels.NumElems(t) != 1 {
		return 0, fmt.Errorf("want a scalar, got shape %v", t.Shape())
	}
	switch v := t.Data().(type) {
	case []float32:
		return float64(v[0]), nil
	case float32:
		return float64(v), nil
	case []float64:
		return v[0], nil
	case float64:
		return v, nil
	}
	is, err := kernels.Ints(t)
	if err != nil {
		return 0, err
	}
	return float64(is[0]), nil
}
