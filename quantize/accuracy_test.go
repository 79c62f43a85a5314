package quantize

import (
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/qpass"
)

func TestParseObserverNamesTheChoices(t *testing.T) {
	for _, c := range []string{"minmax", "histogram", "auto", "auto-consumers"} {
		if got, err := ParseObserver(c); err != nil || string(got) != c {
			t.Errorf("ParseObserver(%q) = %q, %v", c, got, err)
		}
	}
	if got, err := ParseObserver(""); err != nil || got != ObserverDefault {
		t.Errorf("ParseObserver(\"\") = %q, %v; want the default", got, err)
	}
	_, err := ParseObserver("kl")
	if err == nil || !strings.Contains(err.Error(), `"kl"`) || !strings.Contains(err.Error(), "minmax, histogram, auto, auto-consumers") {
		t.Errorf("ParseObserver(kl) error %v, want one naming the value and the choices", err)
	}
}

// TestAccuracyStagesRunWhenAsked checks the stage table's conditions: the
// split calibration replaces the plain one under --observer auto (the
// default), never for QAT models, and bias correction runs only when asked.
func TestAccuracyStagesRunWhenAsked(t *testing.T) {
	names := make([]string, 0)
	for _, st := range Stages() {
		names = append(names, st.Name)
	}
	if err := qpass.CheckOrderOf("stage", names, stageOrder[:]); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		acc                  Accuracy
		qat                  bool
		split, plain, biased bool
	}{
		{Accuracy{}, false, true, false, false},
		{Accuracy{Observer: ObserverMinMax}, false, false, true, false},
		{Accuracy{Observer: ObserverHistogram, BiasCorrection: true}, false, false, true, true},
		{Accuracy{Observer: ObserverAuto}, true, false, true, false},
		{Accuracy{Observer: ObserverAutoConsumers}, false, true, false, false},
	}
	for _, c := range cases {
		s := &Session{QAT: c.qat, Options: Options{Accuracy: c.acc}}
		if choosesRanges(s) != c.split || calibratesAll(s) != c.plain || correctsBias(s) != c.biased {
			t.Errorf("%+v qat=%v: split %v plain %v bias %v, want %v %v %v", c.acc, c.qat,
				choosesRanges(s), calibratesAll(s), correctsBias(s), c.split, c.plain, c.biased)
		}
	}
}
