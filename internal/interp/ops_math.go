package interp

import (
	"math"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/kernels"
)

// mathOps are the elementwise math functions outside the activations:
// trigonometric and hyperbolic functions, NaN and infinity tests, Mod and
// BitShift.
func mathOps(t map[string]opBuilder) {
	for op, f := range map[string]func(float64) float64{
		"Tan": math.Tan, "Sinh": math.Sinh, "Cosh": math.Cosh, "Asin": math.Asin, "Acos": math.Acos,
		"Atan": math.Atan, "Asinh": math.Asinh, "Acosh": math.Acosh, "Atanh": math.Atanh,
	} {
		t[op] = unary(func(x *tensor.Dense) (*tensor.Dense, error) { return kernels.Float32Map(op, x, f) })
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
}
