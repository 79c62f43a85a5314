package main

import (
	"context"
	"fmt"

	"github.com/onnxquant/onnxquant/calib"
	"github.com/onnxquant/onnxquant/calib/dataset"
	"github.com/onnxquant/onnxquant/calib/evaluate"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// minSQNRUsage documents --min-sqnr where the flag is declared.
const minSQNRUsage = "refuse the result (exit 1, no output file) when an output's SQNR against the float model, on the first 8 calibration samples, is below `DB`; 0 disables the check"

// checkMinSQNR measures the quantized model against its float model on the
// first evaluate.FloorSamples calibration samples and fails with an
// *evaluate.LowSQNRError when an output is below job.MinSQNR: a model
// that quantizes "successfully" into noise must not be written.
func checkMinSQNR(ctx context.Context, job quantizeJob, src *modelSource, quantized *onnxpb.ModelProto) error {
	if job.MinSQNR <= 0 {
		return nil
	}
	rep, fgm, err := evaluateSource(ctx, src, quantized, src.calib, evaluate.Options{Workers: job.Workers, MaxSamples: evaluate.FloorSamples})
	if err != nil {
		return fmt.Errorf("model %q: measuring the SQNR for --min-sqnr: %w", job.In, err)
	}
	if err := evaluate.CheckSQNRFloor(rep, fgm, job.MinSQNR); err != nil {
		return fmt.Errorf("model %q: %w", job.In, err)
	}
	return nil
}

// evaluateSource compares the quantized model with the source's float
// model (the cut, when there is one) on the samples at paths.
func evaluateSource(ctx context.Context, src *modelSource, quantized *onnxpb.ModelProto, paths []string, opts evaluate.Options) (*evaluate.Report, *lower.GraphModule, error) {
	fgm, err := src.lower()
	if err != nil {
		return nil, nil, err
	}
	qgm, err := lower.Lower(quantized, src.dir)
	if err != nil {
		return nil, nil, fmt.Errorf("the quantized model: %w", err)
	}
	set, err := dataset.Open(paths, calib.InputSpecs(fgm))
	if err != nil {
		return nil, nil, err
	}
	rep, err := evaluate.Evaluate(ctx, fgm, qgm, set, opts)
	return rep, fgm, err
}
