package quantize_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/qpass"
	"github.com/onnxquant/onnxquant/quantize"
)

// anyTarget runs every operator; refuse, when set, makes the final check
// refuse the model's first node, so the stages can be tested without the
// rules of real hardware.
type anyTarget struct{ refuse bool }

func (anyTarget) Name() string                         { return "any" }
func (anyTarget) Decompositions() qpass.Decompositions { return qpass.Decompositions{Softmax: true} }
func (anyTarget) AdjustConfig(_ *lower.Node, cfg *qpass.Config) *qpass.Config {
	return cfg
}
func (anyTarget) CheckOperators(*lower.GraphModule) *quantize.Report {
	return &quantize.Report{Target: "any"}
}
func (t anyTarget) Check(gm *lower.GraphModule) *quantize.Report {
	r := &quantize.Report{Target: "any"}
	if t.refuse {
		r.Nodes = append(r.Nodes, quantize.Verdict{Node: "n", Op: "Conv", Rule: "refused by the test target", RuleName: "test-rule"})
	}
	return r
}

func session(t *testing.T, target quantize.Target, opts quantize.Options) *quantize.Session {
	t.Helper()
	gm, err := lower.LoadFile("../models/tinynet.onnx")
	if err != nil {
		t.Fatal(err)
	}
	set, err := dataset.Open([]string{"../models/tinynet_calib"}, dataset.InputSpecs(gm))
	if err != nil {
		t.Fatal(err)
	}
	cs := &qpass.ConfigSet{Global: qpass.SymmetricInt8(true, false)}
	s, err := quantize.NewSession(gm, set, target, cs, false, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRunTimesEveryStageInTableOrder(t *testing.T) {
	var log []string
	verified := 0
	s := session(t, anyTarget{}, quantize.Options{Log: func(l string) { log = append(log, l) },
		Verify: func(gm *lower.GraphModule) error { verified++; return gm.CheckUsersIndex() }})
	res, err := quantize.Run(context.Background(), s, quantize.Stages())
	if err != nil {
		t.Fatal(err)
	}
	if passes := len(qpass.TransformForAnnotationPasses()); verified < passes+len(res.Timings) {
		t.Errorf("the graph was verified %d times, want at least once after each of %d stages and %d passes", verified, len(res.Timings), passes)
	}
	if res.Model == nil || res.Annotation == nil || res.Stats == nil || len(res.QParams) == 0 {
		t.Fatalf("incomplete result: %+v", res)
	}
	var ran []string
	for _, l := range log {
		if name, ok := strings.CutPrefix(l, "stage "); ok {
			name, _, _ = strings.Cut(name, ":")
			ran = append(ran, name)
		}
	}
	var want []string
	for _, st := range quantize.Stages() {
		if st.When == nil || st.When(s) { // QAT stages and unasked methods do not run
			want = append(want, st.Name)
		}
	}
	if !slices.Equal(ran, want) {
		t.Errorf("stages logged %v, want %v", ran, want)
	}
	for _, name := range want {
		if _, ok := res.Timings[name]; !ok {
			t.Errorf("no timing for stage %s", name)
		}
	}
	if _, ok := res.Timings["absorb-qdq"]; ok {
		t.Error("absorb-qdq ran for a model that is not QAT")
	}
}

func TestStageOrderIsEnforced(t *testing.T) {
	stages := quantize.Stages()
	i := slices.IndexFunc(stages, func(st quantize.Stage) bool { return st.Name == "calibrate" })
	j := slices.IndexFunc(stages, func(st quantize.Stage) bool { return st.Name == "compute-qparams" })
	stages[i], stages[j] = stages[j], stages[i]
	_, err := quantize.Run(context.Background(), session(t, anyTarget{}, quantize.Options{}), stages)
	if err == nil || !strings.Contains(err.Error(), `stage "calibrate" must run before "compute-qparams": qparams come from the observer states`) {
		t.Fatalf("want the ordering rule, got %v", err)
	}
}

func TestDumpAfterAStageOrAPass(t *testing.T) {
	for _, name := range []string{"annotate", "fold-batchnorm"} {
		var log []string
		s := session(t, anyTarget{}, quantize.Options{DumpAfter: name, Log: func(l string) { log = append(log, l) }})
		if _, err := quantize.Run(context.Background(), s, quantize.Stages()); err != nil {
			t.Fatal(err)
		}
		dumps := 0
		for _, l := range log {
			if strings.HasPrefix(l, "graph after "+name+":\n") {
				dumps++
			}
		}
		if dumps != 1 {
			t.Errorf("--dump-after %s: %d dumps", name, dumps)
		}
	}
	s := session(t, anyTarget{}, quantize.Options{DumpAfter: "no-such-step"})
	_, err := quantize.Run(context.Background(), s, quantize.Stages())
	if !errors.Is(err, quantize.ErrUnknownStep) || len(s.Timings) != 0 {
		t.Errorf("an unknown name must fail before any stage: %v, ran %v", err, s.Timings)
	}
	steps := quantize.Steps(quantize.Stages())
	for _, st := range quantize.Stages() {
		if !strings.Contains(steps, st.Name+" ") {
			t.Errorf("the list of steps lacks stage %s", st.Name)
		}
	}
	for _, p := range qpass.TransformForAnnotationPasses() {
		if !strings.Contains(steps, "  "+p.Name+" ") {
			t.Errorf("the list of steps lacks pass %s", p.Name)
		}
	}
}

func TestAFailedStageIsNamedAndKeepsTheReport(t *testing.T) {
	res, err := quantize.Run(context.Background(), session(t, anyTarget{refuse: true}, quantize.Options{}), quantize.Stages())
	var se *quantize.StageError
	var ill *quantize.IllegalModelError
	if !errors.As(err, &se) || se.Stage != "check" || !errors.As(err, &ill) {
		t.Fatalf("want an IllegalModelError from stage check, got %v", err)
	}
	if res == nil || res.Legality == nil || len(res.Legality.Violations()) != 1 || res.Model != nil {
		t.Errorf("the result must carry the report and no model: %+v", res)
	}
	if !strings.HasSuffix(err.Error(), "refused by the test target [test-rule]") {
		t.Errorf("message %q does not cite the rule", err)
	}
}

func TestCancelledRunStopsBetweenStages(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var log []string
	s := session(t, anyTarget{}, quantize.Options{Log: func(l string) {
		log = append(log, l)
		if strings.HasPrefix(l, "stage annotate:") {
			cancel()
		}
	}})
	_, err := quantize.Run(ctx, s, quantize.Stages())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	if _, ran := s.Timings["calibrate"]; ran || s.Model != nil {
		t.Errorf("stages ran after the cancel: %v", s.Timings)
	}
}

func TestNewSessionChecksConfigRoles(t *testing.T) {
	gm, err := lower.LoadFile("../models/tinynet.onnx")
	if err != nil {
		t.Fatal(err)
	}
	cs := &qpass.ConfigSet{Global: qpass.Uint8IO(false)}
	if _, err := quantize.NewSession(gm, nil, anyTarget{}, cs, false, quantize.Options{}); !errors.Is(err, qpass.ErrConfigRole) {
		t.Errorf("the IO-only config as global: want ErrConfigRole, got %v", err)
	}
}

// A step that edits the graph around the edit API fails the run under
// Verify, naming the step and the node, before any later stage trusts the
// stale users index.
func TestVerifyCatchesAStageThatBypassesTheEditAPI(t *testing.T) {
	corrupt := quantize.Stage{Name: "corrupt", Doc: "Assign a node input directly.", Run: func(_ context.Context, s *quantize.Session) error {
		g := s.Module.Graph
		var x *lower.Value
		for _, n := range g.Nodes {
			if n.Op == lower.Placeholder {
				x = n.Outputs[0]
			}
		}
		for _, n := range g.Nodes {
			if n.Op == lower.CallFunction && len(n.Inputs) > 0 && n.Inputs[0] != x {
				g.Users(x) // the index is current
				n.Inputs[0] = x
				return nil
			}
		}
		return errors.New("no node to corrupt")
	}}
	var stages []quantize.Stage
	for _, st := range quantize.Stages() {
		stages = append(stages, st)
		if st.Name == "size-new-tensors" {
			stages = append(stages, corrupt)
		}
	}
	s := session(t, anyTarget{}, quantize.Options{Verify: (*lower.GraphModule).CheckUsersIndex})
	_, err := quantize.Run(context.Background(), s, stages)
	var se *quantize.StageError
	if !errors.As(err, &se) || se.Stage != "corrupt" || !strings.Contains(err.Error(), "not listed among its users") {
		t.Fatalf("Run = %v, want the corrupt stage named with the stale index", err)
	}
	if _, ran := s.Timings["annotate"]; ran {
		t.Error("stages ran after the failed check")
	}
}
