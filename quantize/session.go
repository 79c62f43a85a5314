package quantize

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/onnxquant/onnxquant/calib"
	"github.com/onnxquant/onnxquant/calib/sample"
	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
	"github.com/onnxquant/onnxquant/qpass"
)

// Session is one quantization run: what every stage reads (the module,
// the samples, the target and the configs) and what each stage leaves for
// the ones after it. Stages communicate only through it.
type Session struct {
	Module *lower.GraphModule
	// Samples are the calibration samples, checked against Module's inputs
	// as they are read (nil when quantizing from stats).
	Samples sample.Source
	Target  Target
	// Configs are the user's configs with the target's adjustment
	// installed (ConfigSet.Adjust).
	Configs *qpass.ConfigSet
	QAT     bool
	Options Options

	// set is Samples as the module's sample reader (the same value when
	// Samples are files).
	set *dataset.Set

	// Fixed are the trained qparams of a QAT model (absorb-qdq).
	Fixed map[string]qpass.FixedQParams
	// Shapes sizes tensors from the calibration data (bind-shapes).
	Shapes *calib.Specialization
	// Legality is the operator pre-check's report, then the final one.
	Legality *Report
	// Annotation holds the quantization points (annotate).
	Annotation *qpass.Annotation
	// Trained are QAT qparams kept as they are (trained-qparams).
	Trained map[int]qpass.QParams
	// Requests are the points calibration observes; ConstantPoints are
	// measured from initializer data instead (plan-observers).
	Requests       []calib.Request
	ConstantPoints []*qpass.Point
	// Stats are the observer states (calibrate).
	Stats *calib.Stats
	// heldOut are the observers of each half of a split calibration
	// (calibrate-split).
	heldOut *heldOut
	// judgeSet is the judging half of a split calibration; consumers
	// caches the one-node models choose-ranges runs on it.
	judgeSet  *dataset.Set
	consumers map[*lower.Node]*consumer
	// RangeRules names the range rule choose-ranges picked per point.
	RangeRules map[int]string
	// QParams are the scales and zero points of every point.
	QParams map[int]qpass.QParams
	// OriginalWeights keeps the float weights a stage replaced by values
	// on their grid (adaround), so that later stages can still measure
	// the rounding error against them.
	OriginalWeights map[*lower.Value][]float32
	// Model is the quantized model (raise).
	Model *onnxpb.ModelProto
	// Forms is what choose-int16-forms measured and chose; AutoA16W8
	// what auto-a16w8 promoted.
	Forms     *FormsReport
	AutoA16W8 *AutoReport
	// Timings holds the wall time of every stage that ran, by name.
	Timings map[string]time.Duration

	// trials quantizes the float model again to measure a choice;
	// trialRun marks a session that is itself such a trial.
	trials   *trials
	trialRun bool
}

// Options are the run's knobs: Accuracy changes the result, the others
// do not.
type Options struct {
	// Accuracy selects the accuracy methods (--observer, --bias-correction,
	// --equalize).
	Accuracy Accuracy
	// Workers is the number of calibration workers (the -j flag).
	Workers int
	// Progress receives calibration progress.
	Progress func(done, total int)
	// ShapeProgress receives the progress of bind-shapes, which runs the
	// samples through the float model to size a model with dynamic inputs.
	ShapeProgress func(done, total int)
	// Stages, when set, is called with 0 done before the first stage and
	// after each stage that ran, with its name: progress across stages.
	Stages func(stage string, done, total int)
	// Log receives one line per stage and per transform pass (--verbose)
	// and the dump of DumpAfter.
	Log func(string)
	// DumpAfter names a stage, or a pass of the transform stage, after
	// which the whole graph is logged.
	DumpAfter string
	// Verify, when set, is run on the graph after every stage and every
	// transform pass; its error fails the run, naming the step. Tests set
	// it to (*lower.GraphModule).CheckUsersIndex.
	Verify func(gm *lower.GraphModule) error
}

func (s *Session) logf(format string, args ...any) {
	if s.Options.Log != nil {
		s.Options.Log(fmt.Sprintf(format, args...))
	}
}

// Result is a quantized model and what was learnt making it.
type Result struct {
	Module     *lower.GraphModule
	Model      *onnxpb.ModelProto
	Annotation *qpass.Annotation
	Stats      *calib.Stats
	QParams    map[int]qpass.QParams
	Legality   *Report
	Timings    map[string]time.Duration
	// Forms and AutoA16W8 report the precision choices measured by
	// choose-int16-forms and auto-a16w8 (nil when they did not run).
	Forms     *FormsReport
	AutoA16W8 *AutoReport
}

// StageError says which stage failed.
type StageError struct {
	Stage string
	Err   error
}

func (e *StageError) Error() string { return e.Err.Error() }
func (e *StageError) Unwrap() error { return e.Err }

// NewSession prepares a run of gm on samples for target with configs (the
// caller's set is not modified). It checks that every config can serve in
// the role it was given. Samples are sample files (calib.OpenSamples) or
// any sample.Source, checked against gm's inputs as declared now; nil
// when the stages calibrate from stats.
func NewSession(gm *lower.GraphModule, samples sample.Source, target Target, configs *qpass.ConfigSet, qat bool, opts Options) (*Session, error) {
	if err := configs.CheckRoles(); err != nil {
		return nil, err
	}
	set, err := dataset.Of(samples, dataset.InputSpecs(gm))
	if err != nil {
		return nil, err
	}
	var src sample.Source
	if set != nil {
		src = set
	}
	cs := *configs
	cs.Adjust = target.AdjustConfig
	return &Session{Module: gm, Samples: src, set: set, Target: target, Configs: &cs, QAT: qat, Options: opts, Timings: map[string]time.Duration{}}, nil
}

// Run runs the stages over the session in order, after checking the
// ordering rules and the DumpAfter name. The result is returned even when
// a stage fails, with as much as the stages before it learnt (a legality
// failure carries its report).
func Run(ctx context.Context, s *Session, stages []Stage) (*Result, error) {
	names := make([]string, len(stages))
	for i, st := range stages {
		names[i] = st.Name
	}
	if err := qpass.CheckOrderOf("stage", names, stageOrder[:]); err != nil {
		return nil, err
	}
	if err := CheckDumpAfter(s.Options.DumpAfter, stages); err != nil {
		return nil, err
	}
	total := 0
	for _, st := range stages {
		if st.When == nil || st.When(s) {
			total++
		}
	}
	done := 0
	if s.Options.Stages != nil {
		s.Options.Stages("", 0, total)
	}
	// The loops inside the stages poll the context through the graph, so
	// an interrupt ends the stage that is running, not only the run.
	root := s.Module.Root()
	defer func(prev func() error) { root.Interrupt = prev }(root.Interrupt)
	root.Interrupt = ctx.Err
	for _, st := range stages {
		if st.When != nil && !st.When(s) {
			continue
		}
		// An interrupt seen before a stage starts ends the run there;
		// the error names that stage, as one seen inside it does.
		if err := ctx.Err(); err != nil {
			return s.result(), &StageError{Stage: st.Name, Err: err}
		}
		start := time.Now()
		err := st.Run(ctx, s)
		s.Timings[st.Name] = time.Since(start)
		if err != nil {
			return s.result(), &StageError{Stage: st.Name, Err: err}
		}
		done++
		if s.Options.Stages != nil {
			s.Options.Stages(st.Name, done, total)
		}
		s.logf("stage %s: %s (%.1f ms)", st.Name, st.Summary(), float64(s.Timings[st.Name].Microseconds())/1000)
		if st.Name == s.Options.DumpAfter {
			s.logf("graph after %s:\n%s", st.Name, qpass.Dump(s.Module))
		}
		if s.Options.Verify != nil {
			if err := s.Options.Verify(s.Module); err != nil {
				return s.result(), &StageError{Stage: st.Name, Err: fmt.Errorf("after stage %s: %w", st.Name, err)}
			}
		}
	}
	return s.result(), nil
}

func (s *Session) result() *Result {
	return &Result{Module: s.Module, Model: s.Model, Annotation: s.Annotation, Stats: s.Stats, QParams: s.QParams, Legality: s.Legality, Timings: s.Timings, Forms: s.Forms, AutoA16W8: s.AutoA16W8}
}

// ErrUnknownStep marks a DumpAfter that names no stage or pass.
var ErrUnknownStep = errors.New("no such stage or pass")

// CheckDumpAfter accepts "", a stage name or the name of a pass of the
// transform stage.
func CheckDumpAfter(name string, stages []Stage) error {
	if name == "" {
		return nil
	}
	for _, st := range stages {
		if st.Name == name {
			return nil
		}
	}
	for _, p := range qpass.TransformForAnnotationPasses() {
		if p.Name == name {
			return nil
		}
	}
	return fmt.Errorf("dump after %q: %w (see --dump-after list)", name, ErrUnknownStep)
}

// Steps lists every stage with its summary, the transform stage's passes
// indented under it: what --dump-after list prints.
func Steps(stages []Stage) string {
	var b strings.Builder
	for _, st := range stages {
		fmt.Fprintf(&b, "%-24s %s\n", st.Name, st.Summary())
		if st.Name == "transform" {
			for _, p := range qpass.TransformForAnnotationPasses() {
				fmt.Fprintf(&b, "  %-22s %s\n", p.Name, p.Summary())
			}
		}
	}
	return b.String()
}
