package evaluate

import (
	"context"
	"fmt"

	"github.com/onnxquant/onnxquant/calib"
	"github.com/onnxquant/onnxquant/calib/dataset"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio"
)

// LoadModule reads and lowers an ONNX model file, with its external data.
func LoadModule(path string) (*lower.GraphModule, error) {
	m, err := onnxio.Load(path)
	if err != nil {
		return nil, err
	}
	if err := m.LoadExternalData(); err != nil {
		return nil, err
	}
	gm, err := lower.Lower(m.Proto, m.Dir)
	if err != nil {
		return nil, fmt.Errorf("model %q: %w", path, err)
	}
	return gm, nil
}

// EvaluateFiles is Evaluate on model files and sample paths (the forms
// calib/dataset.Open accepts), with samples checked against the float
// model's inputs.
func EvaluateFiles(ctx context.Context, floatPath, quantPath string, data []string, opts Options) (*Report, error) {
	fgm, err := LoadModule(floatPath)
	if err != nil {
		return nil, err
	}
	qgm, err := LoadModule(quantPath)
	if err != nil {
		return nil, err
	}
	set, err := dataset.Open(data, calib.InputSpecs(fgm))
	if err != nil {
		return nil, err
	}
	return Evaluate(ctx, fgm, qgm, set, opts)
}
