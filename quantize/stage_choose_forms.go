package quantize

import (
	"context"
	"fmt"
	"slices"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

const chooseInt16FormsDoc = `Choose int8 or int16 per op class where the target runs both under an int16 config.

Ethos-U85 runs TABLE ops (Sigmoid, Tanh, Log, ...) and activation ×
activation MatMul at int16 or at int8; Ethos-U55/U65 only at int8. The
int16 form is not always the more accurate in the model: a Log's input grid
holds 0, whose output saturates the symmetric int16 grid, and U85 measured
below U55 on models whose TABLE ops U55 runs at int8 (docs/accuracy.md).
Each form is tried on quantizations calibrated on half the samples and
judged on the other half, both ways round (the mean of the two): every
class at int8 (the forms Ethos-U55 has, the reference), every class at
int16, then each class switched alone from the better one. The int16 form
replaces the int8 one only where it gains at least 1 dB in both folds, so
that U85 keeps U55's accuracy where the samples cannot tell them apart.
Runs when a config asks for int16, with the default observer or
auto-a16w8 (methods that use the samples themselves); otherwise the
target's fixed rule applies (Log at int8).`

// FormChoice is choose-int16-forms' decision for one class of nodes.
type FormChoice struct {
	Class string `json:"class"`
	// Int8 says the class runs at int8 under int16 configs.
	Int8 bool `json:"int8"`
}

// FormsReport is what choose-int16-forms measured and chose.
type FormsReport struct {
	Choices []FormChoice `json:"choices"`
	// AllInt16 and AllInt8 are the worst output's SQNR (dB) on the
	// held-out samples with every class at int16 and at int8; Chosen
	// with the choices made.
	AllInt16 float64 `json:"all_int16_db"`
	AllInt8  float64 `json:"all_int8_db"`
	Chosen   float64 `json:"chosen_db"`
	Trials   int     `json:"trials"`
}

func choosesForms(s *Session) bool {
	if !trialsPossible(s) {
		return false
	}
	if fc, ok := s.Target.(FormChooser); !ok || !fc.HasForms() {
		return false
	}
	// Without an int16 config there is no choice to make (auto-a16w8's
	// promotions then take the target's fixed rule).
	if !usesInt16(s.Configs) {
		return false
	}
	o := s.Options.Accuracy.observer()
	return o == ObserverAuto || o == ObserverAutoConsumers || s.Options.Accuracy.AutoA16W8
}

func chooseInt16Forms(ctx context.Context, s *Session) error {
	fc := s.Target.(FormChooser)
	t, err := s.trialsOf()
	if err != nil {
		return err
	}
	// The classes are those of the transformed model (decompositions
	// make some, such as a layer norm's Pow), which the all-int16 trial
	// reports.
	classes := map[string]bool{}
	allInt16, err := t.runBoth(ctx, s, fc.WithInt8Forms(nil), s.Configs, func(ts *Session) {
		for n := range ts.Annotation.Quantized {
			cfg, _ := ts.Configs.Explain(n)
			if cfg != nil && cfg.OutputActivation != nil && cfg.OutputActivation.DType == int32(onnxpb.TensorProto_INT16) {
				if c := fc.FormClass(n, cfg); c != "" {
					classes[c] = true
				}
			}
		}
	})
	if err != nil {
		return fmt.Errorf("trial with int16 forms: %w", err)
	}
	if len(classes) == 0 {
		return nil
	}
	names := sortedKeys(classes)
	allInt8, err := t.runBoth(ctx, s, fc.WithInt8Forms(names), s.Configs, nil)
	if err != nil {
		return fmt.Errorf("trial with int8 forms: %w", err)
	}
	// Ethos-U55's forms (every class at int8) are the reference: a class
	// runs at int16 only where that wins clearly (formMargin, in both
	// folds), so that U85 keeps U55's accuracy wherever the held-out
	// samples cannot tell the forms apart.
	int8 := map[string]bool{}
	for _, c := range names {
		int8[c] = true
	}
	cur := allInt8
	if clearlyBetter(allInt16, allInt8) {
		int8, cur = map[string]bool{}, allInt16
	}
	if len(names) > 1 {
		for _, c := range names {
			flip := map[string]bool{}
			for k, v := range int8 {
				flip[k] = v
			}
			flip[c] = !flip[c]
			r, err := t.runBoth(ctx, s, fc.WithInt8Forms(trueKeys(flip)), s.Configs, nil)
			if err != nil {
				return fmt.Errorf("trial with %s switched: %w", c, err)
			}
			// Back to int8 needs no margin: it is the reference.
			if (flip[c] && r.worst > cur.worst) || (!flip[c] && clearlyBetter(r, cur)) {
				int8, cur = flip, r
			}
		}
	}
	best := cur.worst
	rep := &FormsReport{AllInt16: allInt16.worst, AllInt8: allInt8.worst, Chosen: best, Trials: t.Runs}
	for _, c := range names {
		rep.Choices = append(rep.Choices, FormChoice{Class: c, Int8: int8[c]})
	}
	s.Forms = rep
	s.Target = fc.WithInt8Forms(trueKeys(int8))
	s.Configs.Adjust = s.Target.AdjustConfig
	s.logf("choose-int16-forms: int16 forms %.1f dB, int8 forms %.1f dB, chosen %.1f dB (int8: %v)", allInt16.worst, allInt8.worst, best, trueKeys(int8))
	return nil
}

// formMargin is how much (dB) an int16 form must gain on the held-out
// samples, in each fold, to replace the int8 form Ethos-U55 would run:
// less than that is within what 6 to 8 judging samples can tell apart
// (docs/accuracy.md: oww_embedding measured 0.5 dB for int16 on held-out
// calibration samples and 1.1 dB against it on the evaluation samples).
const formMargin = 1.0

// clearlyBetter says a beats b by formMargin on average and in each fold.
func clearlyBetter(a, b *trialResult) bool {
	return a.worst >= b.worst+formMargin && a.folds[0] > b.folds[0] && a.folds[1] > b.folds[1]
}

// trueKeys lists the members of a set that are true, sorted.
func trueKeys(m map[string]bool) []string {
	var out []string
	for k, v := range m {
		if v {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}
