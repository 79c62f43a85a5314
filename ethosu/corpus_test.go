package ethosu_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/internal/interp"
	"github.com/onnxquant/onnxquant/internal/ortoracle"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
	"github.com/onnxquant/onnxquant/qpass"
)

// expectedFailure is a (model, target) pair Ethos-U cannot run, with the
// op and rule every violation must name (../shared/docs/ethosu-ops.md).
type expectedFailure struct {
	ops  []string
	rule string
}

// expectedFailures lists none today. Silero pads its frame with
// Pad(mode=reflect) before the STFT convolution, which ExecuTorch rejects for
// the +u55 subset (ethosu-ops.md §1.4); the quantizer instead rewrites it as
// Slice (REVERSE along W) and Concat on U55/U65, so Silero runs there too.
func expectedFailures() map[string]expectedFailure {
	return map[string]expectedFailure{}
}

// accuracyFloors are the lowest SQNR (dB, first output) accepted per model
// and scheme, a few dB under the measurements in docs/accuracy.md. A
// "model/scheme/target" entry overrides the model/scheme one: Silero's
// a16w8 on U55 runs its Log, Sqrt and LSTM gate tables at int8 (TABLE has
// no int16 form there), so it measures like int8; on U85 choose-int16-forms
// measures the same int8 tables better on held-out samples (worst output
// hn 9.2 against 5.8 dB with int16 tables), so U85 measures as U55 does.
func accuracyFloors() map[string]float64 {
	return map[string]float64{
		"mobilenet_v2/int8": 11, "mobilenet_v2/a16w8": 14,
		"resnet18/int8": 19, "resnet18/a16w8": 26,
		"squeezenet1_1/int8": 28, "squeezenet1_1/a16w8": 35,
		"mobilenet_v3_small/int8": 9, "mobilenet_v3_small/a16w8": 12,
		"tiny_transformer/int8": 28, "tiny_transformer/a16w8": 39,
		"branchy_if_loop/int8": 26, "branchy_if_loop/a16w8": 47,
		"silero_vad_legacy/int8": 8, "silero_vad_legacy/a16w8": 12, "silero_vad_legacy/a16w8/ethos-u55-128": 8,
		"silero_vad_legacy/a16w8/ethos-u85-256": 8,
		"ppocr_mobile_v2_cls/int8":              26, "ppocr_mobile_v2_cls/a16w8": 28,
	}
}

type accuracyRow struct {
	model, scheme, target string
	sqnr                  []float64 // per output, in output order
	outputs               []string
	agree                 float64 // argmax or 0.5-threshold agreement, -1 if not applicable
	metric                string
	failure               string
}

// TestCorpusQuantizesAndKeepsAccuracy quantizes every corpus model for
// int8 and a16w8 on U55-128 and U85-256, checks it is legal and integer
// only, runs it (in ONNX Runtime, or the interpreter without it: see
// runReference) and compares it with the float model on samples calibration
// never saw.
func TestCorpusQuantizesAndKeepsAccuracy(t *testing.T) {
	if testing.Short() {
		t.Skip("quantizes 8 models 4 times")
	}
	corpus := testenv.Corpus(t)
	var rows []accuracyRow
	for _, m := range corpusModels() {
		t.Run(m.name, func(t *testing.T) {
			rows = append(rows, quantizeCorpusModel(t, corpus, m)...)
		})
	}
	if path := os.Getenv("ONNXQUANT_WRITE_ACCURACY"); path != "" {
		if err := os.WriteFile(path, []byte(accuracyMarkdown(rows)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// a16w8 on U85 is not worse than int8 (by more than 0.5 dB, the
	// tolerance the accuracy issue gives U85 against U55) for every model
	// whose int8 loses measurably to its activations (under 35 dB): a16w8
	// changes only the activations, so where int8 nears the ceiling its
	// int8 weights set (ppocr's softmax with ranges chosen on held-out
	// samples), the two differ by noise, and where an int8 TABLE op limits
	// both (Silero's Log, int8 under either scheme) a16w8 can only match.
	byKey := map[string]accuracyRow{}
	for _, r := range rows {
		byKey[r.model+"/"+r.scheme+"/"+r.target] = r
	}
	for _, m := range corpusModels() {
		i8, ok1 := byKey[m.name+"/int8/ethos-u85-256"]
		a16, ok2 := byKey[m.name+"/a16w8/ethos-u85-256"]
		if !ok1 || !ok2 || i8.failure != "" || a16.failure != "" {
			continue
		}
		// Silero's a16w8 keeps its TABLE ops at int8 on U85 too, where
		// that measures better (choose-int16-forms): it can only match int8.
		if m.name != "silero_vad_legacy" && i8.sqnr[0] < 35 && a16.sqnr[0] < i8.sqnr[0]-0.5 {
			t.Errorf("%s on U85: a16w8 SQNR %.1f dB is more than 0.5 dB under int8 %.1f dB", m.name, a16.sqnr[0], i8.sqnr[0])
		}
	}
}

func quantizeCorpusModel(t *testing.T, corpus string, m corpusModel) []accuracyRow {
	om, gm := loadModel(t, filepath.Join(corpus, "models", m.name+".onnx"))
	floatBytes := marshal(t, om.Proto)
	evalSet := openSet(t, gm, samplePaths(t, corpus, m, evalFrom, evalCount))
	var inputs []map[string]*tensor.Dense
	for i := 0; i < evalSet.Len(); i++ {
		s, err := evalSet.Load(i)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, s.Inputs)
	}
	ref, names := runReference(t, floatBytes, inputs)
	calibPaths := samplePaths(t, corpus, m, 0, m.calibCount)
	var rows []accuracyRow
	for _, scheme := range []string{"int8", "a16w8"} {
		for _, target := range []string{"ethos-u55-128", "ethos-u85-256"} {
			row := accuracyRow{model: m.name, scheme: scheme, target: target, outputs: names, agree: -1}
			q := ethosu.NewEthosUQuantizer(ethosu.MustCompileSpec(target))
			if scheme == "a16w8" {
				q.SetGlobal(qpass.SymmetricA16W8(true, false))
			}
			res, err := quantizeModel(t, q, om, calibPaths)
			if want, ok := expectedFailures()[m.name+"/"+target]; ok {
				checkExpectedFailure(t, err, want)
				if err != nil {
					row.failure = fmt.Sprintf("rejected: %s", strings.Join(want.ops, ", "))
					rows = append(rows, row)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s %s: %v", scheme, target, err)
				continue
			}
			if v := res.Legality.Violations(); len(v) > 0 {
				t.Errorf("%s %s: legality violations %v", scheme, target, v)
			}
			checkIntegerOnly(t, res.Module)
			checkActivationDType(t, res.Module, scheme)
			got, gotNames := runReference(t, marshal(t, res.Model), inputs)
			if !slices.Equal(gotNames, names) {
				t.Fatalf("%s %s: outputs %v, float model has %v", scheme, target, gotNames, names)
			}
			for o := range names {
				row.sqnr = append(row.sqnr, sqnr(ref[o], got[o]))
			}
			row.agree, row.metric = agreement(ref[0], got[0], m.threshold)
			floor, ok := accuracyFloors()[m.name+"/"+scheme+"/"+target]
			if !ok {
				floor = accuracyFloors()[m.name+"/"+scheme]
			}
			if row.sqnr[0] < floor {
				t.Errorf("%s %s: SQNR of %q %.1f dB is under the floor %.0f dB", scheme, target, names[0], row.sqnr[0], floor)
			}
			t.Logf("%s %s: SQNR %v, %s %.2f", scheme, target, row.sqnr, row.metric, row.agree)
			rows = append(rows, row)
		}
	}
	return rows
}

func checkExpectedFailure(t *testing.T, err error, want expectedFailure) {
	t.Helper()
	var ill *ethosu.IllegalModelError
	if !errors.As(err, &ill) {
		t.Errorf("want an IllegalModelError naming %v, got %v", want.ops, err)
		return
	}
	if !slices.Equal(ill.Ops(), want.ops) {
		t.Errorf("violations name ops %v, want %v:\n%v", ill.Ops(), want.ops, err)
	}
	for _, v := range ill.Violations {
		if !strings.Contains(v.Rule, want.rule) {
			t.Errorf("violation %+v does not name the rule %q", v, want.rule)
		}
	}
}

// runReference runs a model on every input set and returns, per output (in
// the model's order), the flattened values of every sample. It runs in ONNX
// Runtime (one thread) when the test binary has it, else in the float
// interpreter, which matches ONNX Runtime on the corpus (internal/interp's
// reference tests) and runs QDQ models, so the accuracy floors hold on a
// bare Go install too.
func runReference(t *testing.T, model []byte, inputs []map[string]*tensor.Dense) ([][][]float64, []string) {
	t.Helper()
	run, names, done := referenceSession(t, model)
	defer done()
	out := make([][][]float64, len(names))
	for _, in := range inputs {
		res, err := run(in)
		if err != nil {
			t.Fatal(err)
		}
		for i, n := range names {
			out[i] = append(out[i], float64s(t, res[n]))
		}
	}
	return out, names
}

// referenceSession loads a model once in the reference runner of
// runReference and returns how to run it, its output names and how to free it.
func referenceSession(t *testing.T, model []byte) (func(map[string]*tensor.Dense) (map[string]*tensor.Dense, error), []string, func()) {
	t.Helper()
	if testenv.ORT(t) {
		s, err := ortoracle.NewSessionBytes(model, ortoracle.Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		return s.Run, s.OutputNames(), func() { s.Close() }
	}
	m := &onnxpb.ModelProto{}
	if err := proto.Unmarshal(model, m); err != nil {
		t.Fatal(err)
	}
	gm, err := lower.Lower(m, "")
	if err != nil {
		t.Fatal(err)
	}
	it, err := interp.New(gm, interp.Options{Workers: 1})
	if err != nil {
		t.Fatalf("interpreter: %v", err)
	}
	var names []string
	for _, o := range m.Graph.Output {
		names = append(names, o.GetName())
	}
	run := func(in map[string]*tensor.Dense) (map[string]*tensor.Dense, error) {
		return it.Run(context.Background(), in, nil)
	}
	return run, names, func() {}
}

// agreement compares the decisions of two runs: the argmax over the
// flattened output of each sample, or each value against 0.5.
func agreement(ref, got [][]float64, threshold bool) (float64, string) {
	same, total := 0, 0
	for i := range ref {
		if threshold {
			for j := range ref[i] {
				total++
				if (ref[i][j] > 0.5) == (got[i][j] > 0.5) {
					same++
				}
			}
			continue
		}
		total++
		if argmax(ref[i]) == argmax(got[i]) {
			same++
		}
	}
	metric := "argmax"
	if threshold {
		metric = "0.5-threshold"
	}
	return float64(same) / float64(total), metric
}

// checkIntegerOnly asserts that every float tensor passed between compute
// nodes goes through QuantizeLinear→DequantizeLinear: compute nodes read
// floats only from DequantizeLinear (or a fused Conv/Gemm→Relu edge, or an
// operator parameter such as a Clip bound), and graph outputs come from
// DequantizeLinear.
func checkIntegerOnly(t *testing.T, gm *lower.GraphModule) {
	t.Helper()
	params := map[string][]int{"Clip": {1, 2}, "Pow": {1}, "Resize": {1, 2, 3}, "Pad": {1, 2, 3}}
	bad := 0
	_ = gm.Walk(func(m *lower.GraphModule) error {
		control := qpass.ControlValues(m.Graph)
		for _, n := range m.Graph.Nodes {
			if n.Op != lower.CallFunction && n.Op != lower.Output {
				continue
			}
			if n.Target.OpType == "QuantizeLinear" || n.Target.OpType == "DequantizeLinear" || qpass.IsControlNode(n, control) {
				// Conditions and trip counts stay exact on the host.
				continue
			}
			for i, in := range n.Inputs {
				if in == nil || in.DType != int32(onnxpb.TensorProto_FLOAT) {
					continue
				}
				src := in.Source()
				p := src.Producer
				switch {
				case p.Op == lower.CallFunction && p.Target.OpType == "DequantizeLinear":
					continue
				case p.Op == lower.CallFunction && slices.Contains([]string{"Conv", "Gemm", "MatMul", "ConvTranspose"}, p.Target.OpType) &&
					slices.Contains([]string{"Relu", "Clip"}, n.Target.OpType) && i == 0:
					continue
				case p.Op == lower.GetAttr && slices.Contains(params[n.Target.OpType], i):
					continue
				}
				if bad < 10 {
					t.Errorf("%s: node %q (%s) reads float %q from %s %q", m.Name, n.Meta.SourceName, n.Target.OpType, in.Name, p.Op, p.Meta.SourceName)
				}
				bad++
			}
		}
		return nil
	})
}

// checkActivationDType asserts every activation QuantizeLinear of the
// model produces the scheme's type: int8 for int8, int16 for a16w8 (TABLE
// ops and activation MatMuls on U55 excepted, which run at int8).
func checkActivationDType(t *testing.T, gm *lower.GraphModule, scheme string) {
	t.Helper()
	counts := map[int32]int{}
	_ = gm.Walk(func(m *lower.GraphModule) error {
		for _, n := range m.Graph.Nodes {
			if n.Op == lower.CallFunction && n.Target.OpType == "QuantizeLinear" {
				counts[n.Outputs[0].DType]++
			}
		}
		return nil
	})
	want := int32(onnxpb.TensorProto_INT8)
	if scheme == "a16w8" {
		want = int32(onnxpb.TensorProto_INT16)
	}
	if counts[want] == 0 {
		t.Errorf("%s: no QuantizeLinear to type %d (counts %v)", scheme, want, counts)
	}
	if scheme == "int8" && len(counts) != 1 {
		t.Errorf("int8: QuantizeLinear types %v, want int8 only", counts)
	}
}

func accuracyMarkdown(rows []accuracyRow) string {
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].model < rows[j].model })
	var b strings.Builder
	b.WriteString("| model | scheme | target | SQNR per output (dB) | decisions agreeing |\n|---|---|---|---|---|\n")
	for _, r := range rows {
		if r.failure != "" {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | |\n", r.model, r.scheme, r.target, r.failure)
			continue
		}
		var parts []string
		for i, s := range r.sqnr {
			v := fmt.Sprintf("%.1f", s)
			if math.IsInf(s, 1) {
				v = "exact"
			}
			parts = append(parts, fmt.Sprintf("%s %s", r.outputs[i], v))
		}
		agree := ""
		if r.agree >= 0 {
			agree = fmt.Sprintf("%s %.0f%%", r.metric, 100*r.agree)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", r.model, r.scheme, r.target, strings.Join(parts, ", "), agree)
	}
	return b.String()
}

// TestReflectPadRunsOnU55AsSliceAndConcat quantizes a reflect and an edge Pad
// over H and W: on U55 it becomes Slices (reversed for reflect) and Concats
// that keep the input's one scale, passes the legality check and matches
// the float model in ONNX Runtime; U85, which has MIRROR_PAD, keeps the Pad.
func TestReflectPadRunsOnU55AsSliceAndConcat(t *testing.T) {
	for _, mode := range []string{"reflect", "edge"} {
		b := testmodel.New(13).Input("x", 1, 2, 5, 8).Output("y", 1, 2, 8, 13).
			InitInt64("pads", []int64{8}, 0, 0, 1, 3, 0, 0, 2, 2).
			NamedNode("pad", "Pad", []string{"x", "pads"}, []string{"y"}, lower.StringAttr("mode", mode))
		samples := writeSamples(t, b, 4)
		for _, scheme := range []string{"int8", "a16w8"} {
			for _, target := range []string{"ethos-u55-128", "ethos-u85-256"} {
				q := ethosu.NewEthosUQuantizer(ethosu.MustCompileSpec(target))
				if scheme == "a16w8" {
					q.SetGlobal(qpass.SymmetricA16W8(true, false))
				}
				res, err := quantizeGraph(t, q, b.Model(), samples)
				if err != nil {
					t.Fatalf("%s %s %s: %v", mode, scheme, target, err)
				}
				ix := indexGraph(res.Model.Graph)
				if keep := target == "ethos-u85-256"; keep != (len(ix.byOpType["Pad"]) == 1) {
					t.Errorf("%s %s %s: ops %v", mode, scheme, target, keys(ix.byOpType))
				}
				var scales []float32
				for _, qn := range ix.byOpType["QuantizeLinear"] {
					s, _ := ix.qparamsOf(t, qn)
					scales = append(scales, s...)
				}
				if len(scales) == 0 || slices.ContainsFunc(scales, func(s float32) bool { return s != scales[0] }) {
					t.Errorf("%s %s %s: activation scales %v, want one shared scale", mode, scheme, target, scales)
				}
				runsInReference(t, res.Model, b, 0.02)
			}
		}
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestReversingSliceIsLegalOnU55OnlyAlongHOrW checks the REVERSE rule of
// the legality check on Slices with negative steps (U85 reverses any axis).
func TestReversingSliceIsLegalOnU55OnlyAlongHOrW(t *testing.T) {
	cases := []struct {
		name  string
		shape []int64
		axis  int64
		step  int64
		rule  string // empty: legal on U55
	}{
		{"NCHW W", []int64{1, 2, 4, 6}, 3, -1, ""},
		{"NCHW H", []int64{1, 2, 4, 6}, -2, -1, ""},
		{"NCHW C", []int64{1, 2, 4, 6}, 1, -1, "the C axis"},
		{"NCHW N", []int64{2, 2, 4, 6}, 0, -1, "the N axis"},
		{"rank-3 last is C", []int64{2, 3, 6}, 2, -1, "the C axis"},
		{"rank-3 middle is W", []int64{2, 3, 6}, 1, -1, ""},
		{"rank-2 first is W", []int64{3, 6}, 0, -1, ""},
		{"vector along C", []int64{1, 1, 6}, 2, -1, ""},
		{"rank 5", []int64{1, 2, 2, 4, 6}, 4, -1, "rank-5"},
		{"stride 2", []int64{1, 2, 4, 6}, 3, -2, "step -2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := testmodel.New(13).Input("x", c.shape...).Output("y").
				InitInt64("starts", []int64{1}, -1).InitInt64("ends", []int64{1}, math.MinInt64).
				InitInt64("axes", []int64{1}, c.axis).InitInt64("steps", []int64{1}, c.step).
				NamedNode("rev", "Slice", []string{"x", "starts", "ends", "axes", "steps"}, []string{"y"})
			samples := writeSamples(t, b, 4)
			for _, target := range []string{"ethos-u55-128", "ethos-u85-256"} {
				res, err := quantizeGraph(t, ethosu.NewEthosUQuantizer(ethosu.MustCompileSpec(target)), b.Model(), samples)
				want := c.rule
				if target == "ethos-u85-256" {
					want = ""
				}
				if want == "" {
					if err != nil {
						t.Fatalf("%s: %v", target, err)
					}
					// a histogram-calibrated int8 range may clip the fresh
					// sample's extremes by a step or two
					runsInReference(t, res.Model, b, 0.05)
					continue
				}
				var ill *ethosu.IllegalModelError
				if !errors.As(err, &ill) || len(ill.Violations) != 1 || !strings.Contains(ill.Violations[0].Rule, want) {
					t.Errorf("%s: want one violation naming %q, got %v", target, want, err)
				}
			}
		})
	}
}
