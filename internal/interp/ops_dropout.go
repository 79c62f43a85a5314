package interp

import (
	"fmt"

	"github.com/onnxquant/onnxquant/internal/kernels"
	"gorgonia.org/tensor"
)

// dropoutOps is Dropout, which inference runs as the identity.
func dropoutOps(t map[string]opBuilder) {
	t["Dropout"] = buildDropout
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
