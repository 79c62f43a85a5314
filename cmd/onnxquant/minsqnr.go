package main

import (
	"context"
	"fmt"

	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/internal/evaluate"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// minSQNRUsage documents --min-sqnr where the flag is declared.
const minSQNRUsage = "refuse the result (exit 1, no output file) when an output's SQNR against the float model, on the first 8 calibration samples, is below `DB`; 0 disables the check"

// checkMinSQNR measures the quantized model against its float model on the
// first evaluate.FloorSamples calibration samples and fails with an
// *evaluate.LowSQNRError when an output is below job.MinSQNR: a model
// that quantizes "successfully" into noise must not be written. The
// measurement is returned either way (nil when the check is off).
func checkMinSQNR(ctx context.Context, job quantizeJob, src *modelSource, quantized *onnxpb.ModelProto) (*evaluate.Report, error) {
	if job.MinSQNR <= 0 || len(src.calib) == 0 {
		// Quantized from stats: there are no samples to measure on.
		return nil, nil
	}
	rep, fgm, err := evaluateSource(ctx, src, quantized, src.calib, evaluate.Options{Workers: job.Workers, MaxSamples: evaluate.FloorSamples})
	if err != nil {
		return nil, fmt.Errorf("model %q: measuring the SQNR for --min-sqnr: %w", job.In, err)
	}
	if err := evaluate.CheckSQNRFloor(rep, fgm, job.MinSQNR); err != nil {
		return rep, fmt.Errorf("model %q: %w", job.In, err)
	}
	return rep, nil
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
	setLimits(qgm, src.limits)
	set, err := dataset.OpenSamples(paths, dataset.InputSpecs(fgm), dataset.Options{SplitBatches: true, Limits: src.limits})
	if err != nil {
		return nil, nil, err
	}
	rep, err := evaluate.Evaluate(ctx, fgm, qgm, set, opts)
	return rep, fgm, err
}

// worstOutputNote is the success line's mention of the --min-sqnr
// measurement: the worst output and its SQNR ("" when it did not run).
func worstOutputNote(outs []evaluate.Output) string {
	if len(outs) == 0 {
		return ""
	}
	worst := outs[0]
	for _, o := range outs[1:] {
		if o.SQNR < worst.SQNR {
			worst = o
		}
	}
	return fmt.Sprintf(", worst output %q at %s SQNR", worst.Name, worst.SQNR)
}
