package interp

import (
	"math"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/kernels"
)

// activationOps are the parameterised activations beyond the common ones of
// elementwiseOps.
func activationOps(t map[string]opBuilder) {
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
	t["PRelu"] = binary(kernels.PRelu)
}

func mapKernel(op string, f func(float64) float64) kernel {
	return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
		return one(kernels.Float32Map(op, in[0], f))
	}
}
