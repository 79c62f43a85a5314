package evaluate

import (
	"context"

	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/lower"
)

// EvaluateFiles is Evaluate on model files and sample paths (the forms
// dataset.Open accepts, stacked .npy files split along the batch),
// with samples checked against the float model's inputs.
func EvaluateFiles(ctx context.Context, floatPath, quantPath string, data []string, opts Options) (*Report, error) {
	fgm, err := lower.LoadFile(floatPath)
	if err != nil {
		return nil, err
	}
	qgm, err := lower.LoadFile(quantPath)
	if err != nil {
		return nil, err
	}
	// Stacked files split into batch-1 samples, as quantize splits them.
	set, err := dataset.OpenSamples(data, dataset.InputSpecs(fgm), dataset.Options{SplitBatches: true})
	if err != nil {
		return nil, err
	}
	inner := opts
	inner.Promoter = nil
	rep, err := Evaluate(ctx, fgm, qgm, set, inner)
	if err != nil || !opts.Sensitivity {
		return rep, err
	}
	load := func() (*lower.GraphModule, error) { return lower.LoadFile(quantPath) }
	return rep, addSensitivity(ctx, fgm, load, set, rep, opts)
}
