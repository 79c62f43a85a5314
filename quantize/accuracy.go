package quantize

import (
	"fmt"
	"math"
	"strings"

	"github.com/onnxquant/onnxquant/calib/observe"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
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

// int16Eps is the smallest int16 activation scale outside ExecuTorch's
// configuration: 2^-16, the int8 activations' floor. An int16 grid then
// never has a coarser step than the int8 grid of the same tensor (its
// scale is the smaller of the two formulas above the same floor), and
// biases keep the int32 headroom they have under int8 (a smaller floor
// lets a tiny input scale push bias/(input scale × weight scale) past
// int32, and fit-bias then widens the weight scales).
var int16Eps = float32(math.Ldexp(1, -16))

// grid is the integer grid a point's range maps onto. ExecuTorch's a16w8
// config floors int16 scales at 2^-12, which leaves a tensor whose range
// is within ±8 fewer than 65535 levels and one within ±0.03 fewer than
// int8 would give it (Sigmoid, Sqrt and variance tensors of normalisations
// on U85, where U55 runs them at int8). --observer histogram keeps that
// floor to reproduce ExecuTorch; the other observers use int16Eps.
func (s *Session) grid(spec *qpass.QSpec) observe.QSpec {
	g := observe.QSpec{QMin: spec.QMin, QMax: spec.QMax, Symmetric: spec.Symmetric, Eps: spec.Eps}
	if s.Options.Accuracy.observer() != ObserverHistogram && spec.DType == int32(onnxpb.TensorProto_INT16) {
		g.Eps = min(g.Eps, int16Eps)
	}
	return g
}
