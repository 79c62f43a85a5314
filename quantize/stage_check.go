package quantize

import "context"

const precheckDoc = `Judge the float operators by the target's rules that do not depend on quantization.

A model the target can never run fails before calibration, with every
offending node listed, even where the calibration interpreter could not run
it either.`

func precheck(_ context.Context, s *Session) error {
	s.Legality = s.Target.CheckOperators(s.Module)
	// An interrupted check returns a report cut short.
	if err := s.Module.Interrupted(); err != nil {
		return err
	}
	return s.Legality.Err()
}

const checkDoc = `Judge every node of the QDQ model by the target's rules.

Partial quantization is not supported on Ethos-U: one float compute node
left anywhere fails the model, named.`

func check(_ context.Context, s *Session) error {
	s.Legality = s.Target.Check(s.Module)
	if err := s.Module.Interrupted(); err != nil {
		return err
	}
	return s.Legality.Err()
}
