package interp

import (
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/kernels"
)

func recurrentOps(t map[string]opBuilder) {
	t["LSTM"] = func(c *buildCtx) (kernel, error) {
		rp := recurrentParams(c)
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			y, yh, yc, err := kernels.LSTM(in[0], in[1], in[2], optIn(in, 3), optIn(in, 4), optIn(in, 5), optIn(in, 6), optIn(in, 7), rp)
			if err != nil {
				return nil, err
			}
			return []*tensor.Dense{y, yh, yc}, nil
		}, nil
	}
	for op, gru := range map[string]bool{"GRU": true, "RNN": false} {
		t[op] = func(c *buildCtx) (kernel, error) {
			rp := recurrentParams(c)
			if gru && c.n.Target.Version < 3 {
				return nil, unsupportedf("GRU before opset 3")
			}
			f := kernels.RNN
			if gru {
				f = kernels.GRU
			}
			return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
				y, yh, err := f(in[0], in[1], in[2], optIn(in, 3), optIn(in, 4), optIn(in, 5), rp)
				if err != nil {
					return nil, err
				}
				return []*tensor.Dense{y, yh}, nil
			}, nil
		}
	}
}

func recurrentParams(c *buildCtx) kernels.RecurrentParams {
	n := c.n
	rp := kernels.RecurrentParams{
		Hidden:            int(n.AttrInt("hidden_size", 0)),
		Direction:         n.AttrString("direction", "forward"),
		Clip:              n.AttrFloat("clip", 0),
		Layout:            int(n.AttrInt("layout", 0)),
		InputForget:       n.AttrInt("input_forget", 0) != 0,
		LinearBeforeReset: n.AttrInt("linear_before_reset", 0) != 0,
	}
	names := n.AttrStrings("activations", nil)
	alphas := n.AttrFloats("activation_alpha", nil)
	betas := n.AttrFloats("activation_beta", nil)
	for i, name := range names {
		a := kernels.RNNActivation{Name: name}
		a.Alpha, a.Beta = activationDefaults(name)
		if i < len(alphas) {
			a.Alpha = alphas[i]
		}
		if i < len(betas) {
			a.Beta = betas[i]
		}
		rp.Activations = append(rp.Activations, a)
	}
	return rp
}

// activationDefaults are the ONNX defaults of the parameterized activations.
func activationDefaults(name string) (alpha, beta float32) {
	switch name {
	case "LeakyRelu":
		return 0.01, 0
	case "ThresholdedRelu", "Elu", "ScaledTanh", "Affine":
		return 1, 0
	case "HardSigmoid":
		return 0.2, 0.5
	}
	return 0, 0
}
