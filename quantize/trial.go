package quantize

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/internal/evaluate"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
	"github.com/onnxquant/onnxquant/qpass"
)

// trials quantizes the session's float model again under other configs or
// another form of the target, calibrating on one half of the samples and
// judging the result on the other: how the stages that choose precision
// (choose-int16-forms, auto-a16w8) measure a choice without trusting the
// samples that fitted it. A trial runs the session's own stage table,
// without the choosing stages and without raise.
type trials struct {
	// source is the float model as the session received it.
	source *onnxpb.ModelProto
	dir    string
	gm     *lower.GraphModule
	// float is the reference the trials are judged against.
	float      *lower.GraphModule
	fit, judge *dataset.Set
	// folds are the fitting and judging halves both ways round, for
	// runBoth.
	folds [2][2]*dataset.Set
	// heldOut is false when there were too few samples to hold any out:
	// the trials are then judged on the samples that fitted them.
	heldOut bool
	// Runs counts the trials made.
	Runs int
}

// trialsOf returns the session's trial runner, made on first use from the
// module as it is then: the choosing stages run before any stage rewrites
// it.
func (s *Session) trialsOf() (*trials, error) {
	if s.trials != nil {
		return s.trials, nil
	}
	src, err := lower.Raise(s.Module)
	if err != nil {
		return nil, fmt.Errorf("snapshot of the float model: %w", err)
	}
	t := &trials{source: src, dir: s.Module.Dir, gm: s.Module}
	if t.float, err = t.lower(); err != nil {
		return nil, err
	}
	n := s.set.Len()
	var even, odd []int
	for i := 0; i < n; i++ {
		if i%2 == 0 {
			even = append(even, i)
		} else {
			odd = append(odd, i)
		}
	}
	t.fit, t.judge, t.heldOut = s.set, s.set, false
	if len(odd) > 0 {
		if t.fit, err = s.set.Subset(even); err != nil {
			return nil, err
		}
		if t.judge, err = s.set.Subset(odd); err != nil {
			return nil, err
		}
		t.heldOut = true
	}
	t.folds = [2][2]*dataset.Set{{t.fit, t.judge}, {t.judge, t.fit}}
	s.trials = t
	return t, nil
}

func (t *trials) lower() (*lower.GraphModule, error) {
	gm, err := lower.Lower(t.source, t.dir)
	if err != nil {
		return nil, fmt.Errorf("copy of the float model: %w", err)
	}
	gm.Limits = t.gm.Limits
	return gm, nil
}

// trialResult is one trial's measurement.
type trialResult struct {
	report *evaluate.Report
	// worst is the lowest output SQNR, worstName that output.
	worst     float64
	worstName string
	// folds are the worst output's SQNR in each fold (runBoth; both
	// equal worst after run).
	folds [2]float64
	// activationBytes is the size of every quantized activation tensor
	// of the trial's model (what the NPU moves per inference, once each).
	activationBytes int64
}

// run quantizes a fresh copy of the float model with configs (the user's
// set plus the choice under trial; the target's adjustment is installed
// by NewSession) for target and judges it on the held-out samples.
// afterAnnotate, when set, sees the trial's session once it is annotated.
func (t *trials) run(ctx context.Context, s *Session, target Target, configs *qpass.ConfigSet, afterAnnotate func(*Session)) (*trialResult, error) {
	return t.runOn(ctx, s, t.fit, t.judge, target, configs, afterAnnotate)
}

// runBoth is run twice, each half fitting once and judging once (two-fold
// cross-validation): every calibration sample judges, which steadies a
// choice between close alternatives. Each output's SQNR is the mean of
// the two folds' in dB; the report and sizes are the first fold's.
func (t *trials) runBoth(ctx context.Context, s *Session, target Target, configs *qpass.ConfigSet, afterAnnotate func(*Session)) (*trialResult, error) {
	first, err := t.runOn(ctx, s, t.folds[0][0], t.folds[0][1], target, configs, afterAnnotate)
	if err != nil || !t.heldOut {
		return first, err
	}
	second, err := t.runOn(ctx, s, t.folds[1][0], t.folds[1][1], target, configs, nil)
	if err != nil {
		return nil, err
	}
	r := *first
	r.worst, r.worstName = math.Inf(1), ""
	for i, o := range first.report.Outputs {
		v := (float64(o.SQNR) + float64(second.report.Outputs[i].SQNR)) / 2
		if v < r.worst || r.worstName == "" {
			r.worst, r.worstName = v, o.Name
		}
	}
	r.folds = [2]float64{first.worst, second.worst}
	return &r, nil
}

func (t *trials) runOn(ctx context.Context, s *Session, fit, judge *dataset.Set, target Target, configs *qpass.ConfigSet, afterAnnotate func(*Session)) (*trialResult, error) {
	gm, err := t.lower()
	if err != nil {
		return nil, err
	}
	// A trial measures a precision choice, not the slow methods around
	// it: AdaRound is left out and auto-consumers judged as auto.
	acc := s.Options.Accuracy
	acc.AutoA16W8, acc.AdaRound = false, false
	if acc.Observer == ObserverAutoConsumers {
		acc.Observer = ObserverAuto
	}
	ts, err := NewSession(gm, fit, target, configs, false, Options{Accuracy: acc, Workers: s.Options.Workers})
	if err != nil {
		return nil, err
	}
	ts.trialRun = true
	var stages []Stage
	for _, st := range Stages() {
		if st.Name != "raise" && !choosing[st.Name] {
			stages = append(stages, st)
		}
		if st.Name == "annotate" && afterAnnotate != nil {
			stages = append(stages, Stage{Name: "trial-inspect", Doc: "Let the choosing stage inspect the annotated trial.", Run: func(_ context.Context, ts *Session) error {
				afterAnnotate(ts)
				return nil
			}})
		}
	}
	t.Runs++
	if _, err := Run(ctx, ts, stages); err != nil {
		return nil, err
	}
	rep, err := evaluate.Evaluate(ctx, t.float, ts.Module, judge, evaluate.Options{Workers: s.Options.Workers, MaxHints: 64, HintBelow: math.Inf(1)})
	if err != nil {
		return nil, fmt.Errorf("judging a trial: %w", err)
	}
	r := &trialResult{report: rep, worst: math.Inf(1), activationBytes: activationBytes(ts.Annotation)}
	for _, o := range rep.Outputs {
		if float64(o.SQNR) < r.worst || r.worstName == "" {
			r.worst, r.worstName = float64(o.SQNR), o.Name
		}
	}
	r.folds = [2]float64{r.worst, r.worst}
	return r, nil
}

// choosing names the stages that run trials; a trial never runs them.
var choosing = map[string]bool{"choose-int16-forms": true, "auto-a16w8": true}

// activationBytes sums the sizes of the quantized activations of ann:
// every site of every observed point that is not a constant, at one byte
// per int8 element and two per int16 one.
func activationBytes(ann *qpass.Annotation) int64 {
	if ann == nil {
		return 0
	}
	var total int64
	seen := map[*lower.Value]bool{}
	for _, p := range ann.Points() {
		if p.Derived() || p.Spec == nil {
			continue
		}
		var size int64
		switch p.Spec.DType {
		case int32(onnxpb.TensorProto_INT8), int32(onnxpb.TensorProto_UINT8):
			size = 1
		case int32(onnxpb.TensorProto_INT16), int32(onnxpb.TensorProto_UINT16):
			size = 2
		default:
			continue
		}
		for _, site := range p.Sites {
			if site.Constant() || seen[site.Value] || !site.Value.HasShape {
				continue
			}
			seen[site.Value] = true
			elems := int64(1)
			for _, d := range site.Value.Shape {
				if d.Value <= 0 {
					elems = 0
					break
				}
				elems *= d.Value
			}
			total += elems * size
		}
	}
	return total
}

// withEntries returns a copy of the user's configs with extra node_name
// and module_name entries (the user's own entries of the same names are
// replaced).
func withEntries(cs *qpass.ConfigSet, moduleNames, nodeNames map[string]*qpass.Config) *qpass.ConfigSet {
	out := *cs
	out.Adjust = nil
	out.ModuleName = map[string]*qpass.Config{}
	for k, v := range cs.ModuleName {
		out.ModuleName[k] = v
	}
	for k, v := range moduleNames {
		out.ModuleName[k] = v
	}
	out.NodeName = map[string]*qpass.Config{}
	for k, v := range cs.NodeName {
		out.NodeName[k] = v
	}
	for k, v := range nodeNames {
		out.NodeName[k] = v
	}
	return &out
}

// sortedKeys lists a set's members in order.
func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
