package lower_test

import (
	"fmt"
	"math"

	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/internal/testoracle"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// convertCorpusModel lowers a corpus model, converts it to target and
// raises it, checking the result lowers again with every default-domain
// node at target.
func convertCorpusModel(t *testing.T, path string, target int64) *onnxpb.ModelProto {
	t.Helper()
	orig := loadModel(t, path)
	before, err := proto.Marshal(orig)
	if err != nil {
		t.Fatal(err)
	}
	gm, err := lower.Lower(orig, filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if err := lower.ConvertOpset(gm, target); err != nil {
		t.Fatalf("convert to %d: %v", target, err)
	}
	m, err := lower.Raise(gm)
	if err != nil {
		t.Fatalf("raise after convert to %d: %v", target, err)
	}
	after, _ := proto.Marshal(orig)
	if string(before) != string(after) {
		t.Fatalf("converting modified the loaded model")
	}
	if got := opsetOf(m, ""); got != target {
		t.Errorf("opset import %d, want %d", got, target)
	}
	if target >= 21 && m.GetIrVersion() < 10 {
		t.Errorf("IR version %d with opset 21", m.GetIrVersion())
	}
	again, err := lower.Lower(m, filepath.Dir(path))
	if err != nil {
		t.Fatalf("converted model does not lower: %v", err)
	}
	_ = again.Walk(func(g *lower.GraphModule) error {
		for _, n := range g.Graph.Nodes {
			if (n.Op == lower.CallFunction || n.Op == lower.CallModule) && n.Target.Domain == "" && n.Target.Version != target {
				t.Errorf("node %s bound to opset %d", n.Name, n.Target.Version)
			}
		}
		return nil
	})
	return m
}

func opsetOf(m *onnxpb.ModelProto, domain string) int64 {
	for _, o := range m.OpsetImport {
		if o.GetDomain() == domain {
			return o.GetVersion()
		}
	}
	return 0
}

// Every corpus model converts to opset 13 and 21, up or down, and stays
// well formed.
func TestConvertOpsetCorpusTo13And21(t *testing.T) {
	_, files := corpusModels(t)
	for _, f := range files {
		model := strings.TrimSuffix(filepath.Base(f), ".onnx")
		for _, target := range []int64{13, 21} {
			t.Run(fmt.Sprintf("%s/%d", model, target), func(t *testing.T) {
				convertCorpusModel(t, f, target)
			})
		}
	}
}

// maxRelDiff is max|got-want| / max(max|want|, 1e-12) over float outputs.
func maxRelDiff(got, want *tensor.Dense) (float64, error) {
	g, ok1 := got.Data().([]float32)
	w, ok2 := want.Data().([]float32)
	if !ok1 || !ok2 {
		return 0, fmt.Errorf("outputs are not float32 tensors (%T, %T)", got.Data(), want.Data())
	}
	if len(g) != len(w) {
		return 0, fmt.Errorf("%d elements, want %d", len(g), len(w))
	}
	var diff, scale float64
	for i := range w {
		diff = math.Max(diff, math.Abs(float64(g[i])-float64(w[i])))
		scale = math.Max(scale, math.Abs(float64(w[i])))
	}
	return diff / math.Max(scale, 1e-12), nil
}

// Converted models compute what the originals compute, in the interpreter
// and in ONNX Runtime when the test has it.
func TestConvertOpsetCorpusMatchesOnnxRuntime(t *testing.T) {
	_, files := corpusModels(t)
	for _, f := range files {
		model := strings.TrimSuffix(filepath.Base(f), ".onnx")
		t.Run(model, func(t *testing.T) {
			gm := lowerFile(t, f)
			inputs := calibInputs(t, model, gm)
			refs := testoracle.Originals(t, loadModel(t, f), inputs)
			for _, target := range []int64{13, 21} {
				t.Run(fmt.Sprint(target), func(t *testing.T) {
					sameAsWant(t, refs, convertCorpusModel(t, f, target), inputs)
				})
			}
		})
	}
}

// Folded models (inputs bound to the calibration shapes) compute what the
// originals compute, in the interpreter and in ONNX Runtime when the test
// has it.
func TestFoldConstantsCorpusMatchesOnnxRuntime(t *testing.T) {
	dir, files := corpusModels(t)
	for _, f := range files {
		model := strings.TrimSuffix(filepath.Base(f), ".onnx")
		t.Run(model, func(t *testing.T) {
			gm := lowerFile(t, f)
			inputs := calibInputs(t, model, gm)
			refs := testoracle.Originals(t, loadModel(t, f), inputs)
			if err := lower.InferShapes(gm, calibInputShapes(t, dir, model, inputNames(gm))); err != nil {
				t.Fatal(err)
			}
			if _, err := lower.FoldConstants(gm); err != nil {
				t.Fatal(err)
			}
			m, err := lower.Raise(gm)
			if err != nil {
				t.Fatal(err)
			}
			sameAsWant(t, refs, m, inputs)
		})
	}
}

// sameAsWant runs m in every reference's oracle and requires every output to
// agree within 1e-5 of its largest magnitude.
func sameAsWant(t *testing.T, refs []testoracle.Reference, m *onnxpb.ModelProto, inputs map[string]*tensor.Dense) {
	t.Helper()
	for _, r := range refs {
		got := r.Got(t, m, inputs)
		for name, w := range r.Want {
			d, err := maxRelDiff(got[name], w)
			if err != nil {
				t.Fatalf("%s: output %q: %v", r.Oracle.Name, name, err)
			}
			if d > 1e-5 {
				t.Errorf("%s: output %q: relative difference %.3g", r.Oracle.Name, name, d)
			}
		}
	}
}

// calibInputs reads the first sample of a corpus model's first calibration
// set.
func calibInputs(t *testing.T, model string, gm *lower.GraphModule) map[string]*tensor.Dense {
	t.Helper()
	return testenv.ReadSample(t, testenv.Samples(t, testenv.CalibSets(model)[0])[0], inputNames(gm)[0])
}
