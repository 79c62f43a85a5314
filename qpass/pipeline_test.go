package qpass_test

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/internal/testoracle"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
	"github.com/onnxquant/onnxquant/qpass"
)

func TestTransformForAnnotationPassesKeepTheirOrderingConstraints(t *testing.T) {
	passes := qpass.TransformForAnnotationPasses()
	if err := qpass.CheckOrder(passes); err != nil {
		t.Fatal(err)
	}
	for _, p := range passes {
		if p.Name == "" || p.Run == nil || p.Summary() == "" || strings.HasSuffix(p.Summary(), "stub") {
			t.Errorf("pass %q lacks a name, a function or a documentation line", p.Name)
		}
	}
	// Swapping a constrained pair must be caught.
	i := slices.IndexFunc(passes, func(p qpass.Pass) bool { return p.Name == "recognize-gelu" })
	j := slices.IndexFunc(passes, func(p qpass.Pass) bool { return p.Name == "div-to-mul" })
	passes[i], passes[j] = passes[j], passes[i]
	if err := qpass.CheckOrder(passes); err == nil || !strings.Contains(err.Error(), `"recognize-gelu" must run before "div-to-mul"`) {
		t.Errorf("swapped recognize-gelu and div-to-mul: error %v", err)
	}
	// The list is fresh on every call.
	if qpass.TransformForAnnotationPasses()[i].Name != "recognize-gelu" {
		t.Error("editing a returned list changed the next one")
	}
}

func TestRunPassesDumpsAfterTheNamedPassAndRejectsUnknownNames(t *testing.T) {
	b := testmodel.New(13).Input("x", 2, 3).Init("two", nil, 2).
		Node("Div", []string{"x", "two"}, []string{"y"}).Output("y", 2, 3)
	gm, err := lower.Lower(b.Model(), "")
	if err != nil {
		t.Fatal(err)
	}
	var log []string
	ctx := &qpass.PassContext{DumpAfter: "div-to-mul", Log: func(s string) { log = append(log, s) }}
	if err := qpass.RunPasses(gm, []qpass.Pass{pass(t, "div-to-mul")}, ctx); err != nil {
		t.Fatal(err)
	}
	all := strings.Join(log, "\n")
	if !strings.Contains(all, "div-to-mul: Turn float Div into Mul") || !strings.Contains(all, "graph after div-to-mul") || !strings.Contains(all, "Mul-13(x,") {
		t.Errorf("log does not show the pass summary and the dumped Mul:\n%s", all)
	}
	ctx.DumpAfter = "no-such-pass"
	if err := qpass.RunPasses(gm, []qpass.Pass{pass(t, "div-to-mul")}, ctx); err == nil {
		t.Error("dumping after an unknown pass is not an error")
	}
}

// corpusCases pairs the corpus models this test runs with each of their
// calibration sets.
var corpusCases = func() []struct{ model, calib string } {
	var cases []struct{ model, calib string }
	for _, m := range testenv.BaseCorpusModels() {
		for _, set := range testenv.CalibSets(m) {
			cases = append(cases, struct{ model, calib string }{m, set})
		}
	}
	return cases
}()

func relL2(t *testing.T, want, got *tensor.Dense) float64 {
	w, g := asFloat64(t, want), asFloat64(t, got)
	if len(w) != len(g) {
		t.Fatalf("%d values, want %d", len(g), len(w))
	}
	num, den := 0.0, 0.0
	for i := range w {
		num += (w[i] - g[i]) * (w[i] - g[i])
		den += w[i] * w[i]
	}
	if den == 0 {
		return math.Sqrt(num)
	}
	return math.Sqrt(num / den)
}

// The whole pipeline must leave every corpus model computing the same
// outputs (sample_000, in the interpreter and in ONNX Runtime when the test
// has it) at both target opsets.
func TestTransformForAnnotationKeepsCorpusModelOutputs(t *testing.T) {
	corpus := testenv.Corpus(t)
	for _, c := range corpusCases {
		path := filepath.Join(corpus, "models", c.model+".onnx")
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		m := &onnxpb.ModelProto{}
		if err := proto.Unmarshal(raw, m); err != nil {
			t.Fatal(err)
		}
		inputs := testenv.ReadSample(t, testenv.Samples(t, c.calib)[0], firstInput(m))
		refs := testoracle.Originals(t, m, inputs)
		shapes := map[string][]int64{}
		for name, d := range inputs {
			for _, s := range d.Shape() {
				shapes[name] = append(shapes[name], int64(s))
			}
			if len(d.Shape()) == 0 {
				shapes[name] = []int64{}
			}
		}
		for _, opset := range []int64{13, 21} {
			t.Run(c.model+"/"+c.calib+"/opset"+string(rune('0'+opset/10))+string(rune('0'+opset%10)), func(t *testing.T) {
				gm, err := lower.Lower(m, filepath.Dir(path))
				if err != nil {
					t.Fatal(err)
				}
				ctx := &qpass.PassContext{TargetOpset: opset, InputShapes: shapes,
					NeedsDecomposition: qpass.Decompositions{Softmax: true},
					Verify:             (*lower.GraphModule).CheckUsersIndex}
				if err := qpass.RunPasses(gm, qpass.TransformForAnnotationPasses(), ctx); err != nil {
					t.Fatal(err)
				}
				out, err := lower.Raise(gm)
				if err != nil {
					t.Fatal(err)
				}
				before, after := countOps(m.Graph), countOps(out.Graph)
				left := map[string]int{}
				opHistogram(out.Graph, left)
				t.Logf("ops after: %v", left)
				for _, op := range []string{"BatchNormalization", "LayerNormalization", "Softmax", "LogSoftmax", "LSTM", "GRU", "Div", "Constant"} {
					if left[op] > 0 {
						t.Errorf("%d %s nodes left after the pipeline", left[op], op)
					}
				}
				for _, r := range refs {
					got := r.Got(t, out, inputs)
					for name, w := range r.Want {
						e := relL2(t, w, got[name])
						t.Logf("%s: %s: relative L2 %.2g; %d nodes before, %d after", r.Oracle.Name, name, e, before, after)
						if e > 1e-4 {
							t.Errorf("%s: output %s: relative L2 error %.3g > 1e-4", r.Oracle.Name, name, e)
						}
					}
				}
			})
		}
	}
}

// opHistogram counts op types in a graph and its bodies.
func opHistogram(g *onnxpb.GraphProto, h map[string]int) {
	for _, node := range g.Node {
		h[node.GetOpType()]++
		for _, a := range node.Attribute {
			if a.G != nil {
				opHistogram(a.G, h)
			}
		}
	}
}

// countOps counts nodes in a graph and its bodies.
func countOps(g *onnxpb.GraphProto) int {
	n := 0
	for _, node := range g.Node {
		n++
		for _, a := range node.Attribute {
			if a.G != nil {
				n += countOps(a.G)
			}
		}
	}
	return n
}

// firstInput is the model's first graph input that is not an initializer:
// the name of a single-input model's input.
func firstInput(m *onnxpb.ModelProto) string {
	inits := map[string]bool{}
	for _, in := range m.Graph.Initializer {
		inits[in.GetName()] = true
	}
	for _, in := range m.Graph.Input {
		if !inits[in.GetName()] {
			return in.GetName()
		}
	}
	return ""
}
