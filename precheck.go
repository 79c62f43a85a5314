package onnxquant

import (
	"context"
	"fmt"

	calibpkg "github.com/onnxquant/onnxquant/calib"
	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/quantize"
)

// Precheck judges a float model as quantize would before calibrating it:
// after the same transforms (BatchNormalization folded, decompositions),
// by the target's rules that do not depend on quantization. A model with
// dynamic input sizes needs calibration samples (calib) to bind them as
// quantize does; without, it is judged as declared. gm is rewritten in
// place. The report is returned with its error.
func Precheck(ctx context.Context, gm *lower.GraphModule, target string, calib []string) (*quantize.Report, error) {
	spec, err := ethosu.NewCompileSpec(target, "", "")
	if err != nil {
		return nil, &invalidOptions{err}
	}
	q := ethosu.NewEthosUQuantizer(spec)
	s, err := quantize.NewSession(gm, nil, ethosu.NewTarget(spec), q.Configs(), false, quantize.Options{})
	if err != nil {
		return nil, err
	}
	var (
		stages []quantize.Stage
		set    *dataset.Set
	)
	dynamic := len(calibpkg.DynamicInputs(gm)) > 0
	if dynamic && len(calib) > 0 {
		if set, _, err = openCalibration(gm, calib, func(string) {}); err != nil {
			return nil, err
		}
		s.Samples = set
	}
	if !dynamic || set != nil {
		for _, st := range quantize.Stages() {
			if st.When == nil || st.When(s) {
				stages = append(stages, st)
			}
			if st.Name == "precheck" {
				break
			}
		}
	} else {
		if err := lower.InferShapes(gm, nil); err != nil {
			return nil, err
		}
		for _, st := range quantize.Stages() {
			if st.Name == "precheck" {
				stages = append(stages, st)
			}
		}
	}
	res, err := quantize.Run(ctx, s, stages)
	if res == nil {
		return nil, err
	}
	if err != nil && len(stages) == 1 {
		err = fmt.Errorf("judged as declared, without the transforms quantize applies once samples bind its dynamic input sizes (give --calib to bind them): %w", err)
	}
	if res.Legality == nil && err != nil {
		return nil, fmt.Errorf("preparing the model as quantize does: %w", err)
	}
	return res.Legality, err
}
