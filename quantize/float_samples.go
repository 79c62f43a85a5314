package quantize

import (
	"context"
	"fmt"

	"github.com/onnxquant/onnxquant/internal/interp"
)

// runFloatSamples runs every calibration sample once through the module
// as it is now (still float) and feeds obs what each computes. The stages
// that measure the float model (bias correction, weight rounding,
// activation smoothing) share it. before and after, when set, are called
// with each sample's index around its run.
func runFloatSamples(ctx context.Context, s *Session, obs interp.Observer, before, after func(i int)) error {
	it, err := interp.New(s.Module, interp.Options{Workers: max(s.Options.Workers, 1)})
	if err != nil {
		return err
	}
	for i := 0; i < s.set.Len(); i++ {
		smp, err := s.set.Load(i)
		if err != nil {
			return err
		}
		if before != nil {
			before(i)
		}
		if _, err := it.Run(ctx, smp.Inputs, obs); err != nil {
			return fmt.Errorf("sample %s: %w", smp.Name, err)
		}
		s.set.Release(smp)
		if after != nil {
			after(i)
		}
	}
	return nil
}
