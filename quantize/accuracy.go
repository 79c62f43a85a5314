package quantize

import (
	"fmt"
	"strings"
)

// ObserverChoice says how activation ranges are calibrated.
type ObserverChoice string

// The observer choices (--observer).
const (
	// ObserverDefault is DefaultObserver.
	ObserverDefault ObserverChoice = ""
	// ObserverHistogram is ExecuTorch's configuration: PyTorch's
	// HistogramObserver L2 range search on every activation.
	ObserverHistogram ObserverChoice = "histogram"
	// ObserverMinMax is the textbook configuration: the exact min/max of
	// the calibration data on every activation.
	ObserverMinMax ObserverChoice = "minmax"
	// ObserverAuto chooses each activation's range rule by its error on
	// calibration samples held out from fitting it (choose-ranges).
	ObserverAuto ObserverChoice = "auto"
)

// DefaultObserver is the choice when none is given; docs/accuracy.md has
// the measurement that chose it.
const DefaultObserver = ObserverAuto

// ObserverChoices lists the accepted --observer values.
func ObserverChoices() []ObserverChoice {
	return []ObserverChoice{ObserverMinMax, ObserverHistogram, ObserverAuto}
}

// ParseObserver reads an --observer value; "" is the default.
func ParseObserver(s string) (ObserverChoice, error) {
	if s == "" {
		return ObserverDefault, nil
	}
	for _, c := range ObserverChoices() {
		if string(c) == s {
			return c, nil
		}
	}
	var names []string
	for _, c := range ObserverChoices() {
		names = append(names, string(c))
	}
	return "", fmt.Errorf("observer %q: expected %s", s, strings.Join(names, ", "))
}

// Accuracy selects the accuracy methods of a run; the zero value is the
// default quantizer.
type Accuracy struct {
	// Observer picks how activation ranges are calibrated.
	Observer ObserverChoice
	// BiasCorrection corrects each output channel's bias for the mean
	// shift weight quantization causes (correct-bias).
	BiasCorrection bool
	// EqualizeCrossLayer rescales Conv→(Relu)→Conv chains so both weights
	// share the range (the equalize-cross-layer transform pass).
	EqualizeCrossLayer bool
}

// observer resolves the default.
func (a Accuracy) observer() ObserverChoice {
	if a.Observer == ObserverDefault {
		return DefaultObserver
	}
	return a.Observer
}

func choosesRanges(s *Session) bool { return !s.QAT && s.Options.Accuracy.observer() == ObserverAuto }
func calibratesAll(s *Session) bool { return !choosesRanges(s) }
func correctsBias(s *Session) bool  { return s.Options.Accuracy.BiasCorrection }
