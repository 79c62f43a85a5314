package interp_test

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/internal/ortoracle"
	"github.com/onnxquant/onnxquant/internal/testenv"
)

// corpusSets maps the corpus models this package checks to their
// calibration sets: all of them, the pretrained models exporters wrote
// (zero-element tensors, functions, NHWC forms) included.
var corpusSets = func() map[string][]string {
	out := map[string][]string{}
	for _, m := range testenv.CorpusModels() {
		out[m] = testenv.CalibSets(m)
	}
	return out
}()

// referenceDir is where the ORT outputs of a sample live. The corpus holds
// references for the first three samples of a model's first calibration set
// only (silero's 8 kHz set has none; those samples go to the live oracle).
func referenceDir(corpus, model, sample string) string {
	return filepath.Join(corpus, "reference", model, sample)
}

func TestCorpusModelsMatchOnnxRuntimeReferences(t *testing.T) {
	corpus := testenv.Corpus(t)
	for model, sets := range corpusSets {
		t.Run(model, func(t *testing.T) {
			modelPath := filepath.Join(corpus, "models", model+".onnx")
			gm := loadModule(t, modelPath)
			it := newInterp(t, gm, 2)
			for si, set := range sets {
				for _, path := range testenv.Samples(t, set)[:3] {
					sample := strings.TrimSuffix(filepath.Base(path), ".npy")
					inputs := readSample(t, gm, path)
					out, err := it.Run(context.Background(), inputs, nil)
					if err != nil {
						t.Fatalf("%s/%s: %v", set, sample, err)
					}
					if si > 0 {
						compareWithOracle(t, modelPath, set+"/"+sample, inputs, out)
						continue
					}
					refDir := referenceDir(corpus, model, sample)
					refs, _ := filepath.Glob(filepath.Join(refDir, "*.npy"))
					if len(refs) == 0 {
						t.Fatalf("%s/%s: no references in %s", set, sample, refDir)
					}
					for _, ref := range refs {
						name := strings.TrimSuffix(filepath.Base(ref), ".npy")
						want, err := dataset.ReadNPY(ref)
						if err != nil {
							t.Fatal(err)
						}
						got, ok := out[name]
						for o, v := range out {
							if testenv.ReferencePath(corpus, model, sample, o) == ref {
								got, ok = v, true
							}
						}
						if !ok {
							t.Fatalf("%s/%s: no output %q", set, sample, name)
						}
						if e := relL2(t, got, want); e >= 1e-4 && maxAbsDiff(t, got, want) > 1e-6 {
							t.Errorf("%s/%s output %q: relative L2 error %.3g", set, sample, name, e)
						} else {
							t.Logf("%s/%s output %q: relative L2 error %.3g", set, sample, name, e)
						}
					}
				}
			}
		})
	}
}

// compareWithOracle runs the same inputs through ONNX Runtime and checks
// every output (relative L2 error < 1e-4), when the test has ONNX Runtime.
func compareWithOracle(t *testing.T, modelPath, label string, inputs, got map[string]*tensor.Dense) {
	t.Helper()
	if !testenv.ORT(t) {
		return
	}
	s := oracleSession(t, modelPath)
	want, err := s.Run(inputs)
	if err != nil {
		t.Fatalf("%s: ONNX Runtime: %v", label, err)
	}
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Fatalf("%s: no output %q", label, name)
		}
		if e := relL2(t, g, w); e >= 1e-4 {
			t.Errorf("%s output %q: relative L2 error %.3g against ONNX Runtime", label, name, e)
		} else {
			t.Logf("%s output %q: relative L2 error %.3g against ONNX Runtime", label, name, e)
		}
	}
}

var oracles sync.Map // model path -> *ortoracle.Session, shared by the tests of one binary

func oracleSession(t *testing.T, modelPath string) *ortoracle.Session {
	t.Helper()
	if s, ok := oracles.Load(modelPath); ok {
		return s.(*ortoracle.Session)
	}
	s, err := ortoracle.NewSession(modelPath, ortoracle.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	actual, loaded := oracles.LoadOrStore(modelPath, s)
	if loaded {
		s.Close()
	}
	return actual.(*ortoracle.Session)
}

func TestBranchyIfLoopMatchesOnnxRuntimeOnEverySample(t *testing.T) {
	corpus := testenv.Corpus(t)
	modelPath := filepath.Join(corpus, "models", "branchy_if_loop.onnx")
	gm := loadModule(t, modelPath)
	it := newInterp(t, gm, 1)
	modes := map[float64]bool{}
	for _, path := range testenv.Samples(t, "branchy") {
		inputs := readSample(t, gm, path)
		modes[f64s(t, inputs["mode"])[0]] = true
		out, err := it.Run(context.Background(), inputs, nil)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		compareWithOracle(t, modelPath, filepath.Base(path), inputs, out)
	}
	if len(modes) < 3 {
		t.Errorf("the calibration set exercised only modes %v", modes)
	}
}

// maxAbsDiff is the largest elementwise |got-want|: outputs that are tiny
// probabilities (a sigmoid far in its tail) have a large relative error for
// differences far below float32 resolution of the logits.
func maxAbsDiff(t testing.TB, got, want *tensor.Dense) float64 {
	g, w := f64s(t, got), f64s(t, want)
	var m float64
	for i := range g {
		m = max(m, math.Abs(g[i]-w[i]))
	}
	return m
}
