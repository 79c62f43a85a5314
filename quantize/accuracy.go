package quantize

import (
	"fmt"
	"strings"

	"github.com/onnxquant/onnxquant/calib/observe"
	"github.com/onnxquant/onnxquant/qpass"
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
	// ObserverAutoConsumers chooses as ObserverAuto does, but judges each
	// candidate range by the error it causes in the tensor's consumers'
	// outputs (each consumer node run alone on the held-out samples).
	ObserverAutoConsumers ObserverChoice = "auto-consumers"
)

// DefaultObserver is the choice when none is given; docs/accuracy.md has
// the measurement that chose it.
const DefaultObserver = ObserverAuto

// ObserverChoices lists the accepted --observer values.
func ObserverChoices() []ObserverChoice {
	return []ObserverChoice{ObserverMinMax, ObserverHistogram, ObserverAuto, ObserverAutoConsumers}
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
	// AutoA16W8 promotes the modules (or nodes) whose promotion to 16x8
	// gains the most, where the target allows it, until every output
	// reaches MinSQNR on held-out calibration samples (auto-a16w8).
	AutoA16W8 bool
	// MinSQNR is auto-a16w8's goal in dB; 0 means DefaultAutoGoal.
	MinSQNR float64
	// SmoothQuant, when not 0, is the migration strength α, in (0, 1],
	// of the smooth-quant stage (--smooth-quant[=ALPHA], 0.5 when no value
	// is given): MatMul/Gemm activations with outlier channels are divided
	// per channel and their weights multiplied. 0 turns it off; a value
	// outside (0, 1] is an error of the stage.
	SmoothQuant float64
	// AdaRound chooses each weight's rounding direction by the layer
	// output's error on the calibration data (the adaround stage).
	AdaRound bool
	// TFLiteGrids puts Sigmoid and Tanh outputs on the fixed
	// grids TFLite's kernels use instead of their observed ranges (the
	// tflite-grids stage), so that an exported model rounds them once, as
	// the QDQ model does, with no QUANTIZE after them. Not an accuracy
	// method: it trades a little resolution for agreement with the NPU.
	TFLiteGrids bool
}

// DefaultAutoGoal is auto-a16w8's goal when none is given, the CLI's
// --min-sqnr default.
const DefaultAutoGoal = 10.0

// goal resolves the default.
func (a Accuracy) goal() float64 {
	if a.MinSQNR <= 0 {
		return DefaultAutoGoal
	}
	return a.MinSQNR
}

// observer resolves the default.
func (a Accuracy) observer() ObserverChoice {
	if a.Observer == ObserverDefault {
		return DefaultObserver
	}
	return a.Observer
}

func choosesRanges(s *Session) bool {
	o := s.Options.Accuracy.observer()
	return !s.QAT && (o == ObserverAuto || o == ObserverAutoConsumers)
}

// judgesByConsumers reports whether choose-ranges scores candidates by
// their consumers' output error.
func judgesByConsumers(s *Session) bool {
	return s.Options.Accuracy.observer() == ObserverAutoConsumers
}
func calibratesAll(s *Session) bool { return !choosesRanges(s) }
func correctsBias(s *Session) bool  { return s.Options.Accuracy.BiasCorrection }

// trialsPossible says whether the session can run trial quantizations:
// the samples themselves are there (not merged stats) and the model is
// not a QAT export, whose qparams are trained rather than chosen.
func trialsPossible(s *Session) bool { return !s.QAT && s.Samples != nil && s.Samples.Len() > 0 }

// grid is the integer grid a point's range maps onto: the spec's, with
// ExecuTorch's floors (eps 2^-16 for int8, 2^-12 for int16 activations) in
// every observer mode. A smaller int16 floor was measured (docs/accuracy.md):
// it gains 8 dB on ppocr_mobile_v2_cls at a16w8 but loses 20 dB on
// branchy_if_loop, whose near-constant tensors generalise to new samples
// only because the floor keeps their grid wide; choosing the floor per
// tensor on held-out samples is left to choose-ranges' successor.
func (s *Session) grid(spec *qpass.QSpec) observe.QSpec {
	return observe.QSpec{QMin: spec.QMin, QMax: spec.QMax, Symmetric: spec.Symmetric, Eps: spec.Eps}
}
