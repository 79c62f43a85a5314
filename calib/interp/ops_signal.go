package interp

import (
	"fmt"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/calib/kernels"
)

// signalOps are the window functions, LRN and ReverseSequence.
func signalOps(t map[string]opBuilder) {
	for op, coef := range map[string][3]float64{
		"HannWindow":     {0.5, 0.5, 0},
		"HammingWindow":  {25.0 / 46, 21.0 / 46, 0},
		"BlackmanWindow": {0.42, 0.5, 0.08},
	} {
		t[op] = func(c *buildCtx) (kernel, error) {
			periodic := c.n.AttrInt("periodic", 1) != 0
			dt, ok := dtypeOf(int32(c.n.AttrInt("output_datatype", int64(dtFloat))))
			if !ok {
				return nil, unsupportedf("%s output_datatype %d", op, c.n.AttrInt("output_datatype", 0))
			}
			return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
				n, err := scalarFloat(in[0])
				if err != nil {
					return nil, fmt.Errorf("size: %w", err)
				}
				d, err := kernels.CosineSumWindow(int(n), coef, periodic)
				if err != nil {
					return nil, err
				}
				return one(kernels.Cast(d, dt))
			}, nil
		}
	}
	t["LRN"] = func(c *buildCtx) (kernel, error) {
		alpha, beta := float64(c.n.AttrFloat("alpha", 1e-4)), float64(c.n.AttrFloat("beta", 0.75))
		bias, size := float64(c.n.AttrFloat("bias", 1)), int(c.n.AttrInt("size", 1))
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(kernels.LRN(in[0], alpha, beta, bias, size))
		}, nil
	}
	t["ReverseSequence"] = func(c *buildCtx) (kernel, error) {
		batchAxis, timeAxis := int(c.n.AttrInt("batch_axis", 1)), int(c.n.AttrInt("time_axis", 0))
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(kernels.ReverseSequence(in[0], in[1], batchAxis, timeAxis))
		}, nil
	}
}
