package main

import (
	"context"
	"fmt"
	"path/filepath"

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
func checkMinSQNR(ctx context.Context, job quantizeJob, quantized *onnxpb.ModelProto) error {
	if job.MinSQNR <= 0 {
		return nil
	}
	fgm, err := lower.LoadFile(job.In)
	if err != nil {
		return err
	}
	qgm, err := lower.Lower(quantized, filepath.Dir(job.In))
	if err != nil {
		return fmt.Errorf("model %q: the quantized model: %w", job.In, err)
	}
	set, err := dataset.Open(job.Calib, calib.InputSpecs(fgm))
	if err != nil {
		return err
	}
	rep, err := evaluate.Evaluate(ctx, fgm, qgm, set, evaluate.Options{Workers: job.Workers, MaxSamples: evaluate.FloorSamples})
	if err != nil {
		return fmt.Errorf("model %q: measuring the SQNR for --min-sqnr: %w", job.In, err)
	}
	if err := evaluate.CheckSQNRFloor(rep, fgm, job.MinSQNR); err != nil {
		return fmt.Errorf("model %q: %w", job.In, err)
	}
	return nil
}
