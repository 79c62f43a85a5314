package interp

import (
	"fmt"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/kernels"
)

// signalOps are the window functions, DFT, STFT, MelWeightMatrix, LRN and
// ReverseSequence.
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
	t["DFT"] = func(c *buildCtx) (kernel, error) {
		inverse, onesided := c.n.AttrInt("inverse", 0) != 0, c.n.AttrInt("onesided", 0) != 0
		// The axis is an attribute (default 1) up to opset 19, an input
		// (default -2) from 20.
		attrAxis := c.n.Target.Version < 20
		axis := int(c.n.AttrInt("axis", 1))
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			n := 0
			if l := optIn(in, 1); l != nil && !kernels.IsEmpty(l) {
				v, err := scalarFloat(l)
				if err != nil {
					return nil, fmt.Errorf("dft_length: %w", err)
				}
				n = int(v)
			}
			a := axis
			if !attrAxis {
				a = -2
				if t := optIn(in, 2); t != nil {
					v, err := scalarFloat(t)
					if err != nil {
						return nil, fmt.Errorf("axis: %w", err)
					}
					a = int(v)
				}
			}
			return one(kernels.DFT(in[0], n, a, inverse, onesided))
		}, nil
	}
	t["STFT"] = func(c *buildCtx) (kernel, error) {
		onesided := c.n.AttrInt("onesided", 1) != 0
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			step, err := scalarFloat(in[1])
			if err != nil {
				return nil, fmt.Errorf("frame_step: %w", err)
			}
			var window []float32
			if w := optIn(in, 2); w != nil && !kernels.IsEmpty(w) {
				if window, err = kernels.Float32s(w); err != nil {
					return nil, fmt.Errorf("window: %w", err)
				}
			}
			frameLength := 0
			if l := optIn(in, 3); l != nil {
				v, err := scalarFloat(l)
				if err != nil {
					return nil, fmt.Errorf("frame_length: %w", err)
				}
				frameLength = int(v)
			}
			if window == nil && frameLength == 0 {
				return nil, fmt.Errorf("STFT needs a window or a frame_length")
			}
			return one(kernels.STFT(in[0], int(step), frameLength, window, onesided))
		}, nil
	}
	t["MelWeightMatrix"] = func(c *buildCtx) (kernel, error) {
		dt, ok := dtypeOf(int32(c.n.AttrInt("output_datatype", int64(dtFloat))))
		if !ok {
			return nil, unsupportedf("MelWeightMatrix output_datatype %d", c.n.AttrInt("output_datatype", 0))
		}
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			var v [5]float64
			for i, name := range []string{"num_mel_bins", "dft_length", "sample_rate", "lower_edge_hertz", "upper_edge_hertz"} {
				x, err := scalarFloat(in[i])
				if err != nil {
					return nil, fmt.Errorf("%s: %w", name, err)
				}
				v[i] = x
			}
			m, err := kernels.MelWeightMatrix(int(v[0]), int(v[1]), int(v[2]), v[3], v[4])
			if err != nil {
				return nil, err
			}
			return one(kernels.Cast(m, dt))
		}, nil
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
