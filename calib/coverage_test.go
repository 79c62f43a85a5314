package calib_test

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/calib"
	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/internal/testenv"
)

// uncovered returns the modules an *UncoveredPathError names.
func uncovered(t testing.TB, err error) map[string]calib.UncoveredPath {
	t.Helper()
	var ue *calib.UncoveredPathError
	if !errors.As(err, &ue) {
		t.Fatalf("want an *UncoveredPathError, got %v", err)
	}
	out := map[string]calib.UncoveredPath{}
	for _, p := range ue.Paths {
		out[p.Module] = p
	}
	return out
}

// positiveModeBranchy copies the branchy samples whose mode.npy is > 0
// (read from the files, not assumed) into a temporary folder.
func positiveModeBranchy(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	n := 0
	for _, s := range testenv.Samples(t, "branchy") {
		mode, err := dataset.ReadNPY(filepath.Join(s, "mode.npy"))
		if err != nil {
			t.Fatal(err)
		}
		if modeValue(t, mode) <= 0 {
			continue
		}
		n++
		dst := filepath.Join(dir, filepath.Base(s))
		if err := os.Mkdir(dst, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"image.npy", "mode.npy"} {
			if err := os.Symlink(filepath.Join(s, f), filepath.Join(dst, f)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n == 0 || n == 16 {
		t.Fatalf("%d of 16 branchy samples have mode > 0; the corpus should have both signs", n)
	}
	return dir
}

func modeValue(t *testing.T, d *tensor.Dense) float64 {
	t.Helper()
	switch v := d.Data().(type) {
	case []float32:
		return float64(v[0])
	case []float64:
		return v[0]
	case []int64:
		return float64(v[0])
	case float32:
		return float64(v)
	}
	t.Fatalf("mode.npy has dtype %v", d.Dtype())
	return 0
}

func TestCalibrateFailsOnBranchNoSampleTakes(t *testing.T) {
	gm := corpusModel(t, "branchy_if_loop")
	set := openSet(t, gm, positiveModeBranchy(t))
	_, err := calib.Calibrate(t.Context(), gm, set, calib.AllActivations(gm), calib.Options{Workers: 2})
	paths := uncovered(t, err)
	p, ok := paths["If_0.else_branch"]
	if !ok || len(paths) != 1 {
		t.Fatalf("uncovered paths %v, want only If_0.else_branch", err)
	}
	if !strings.Contains(p.Condition, "is false") || !strings.Contains(p.Condition, `"/If"`) {
		t.Errorf("condition %q should say the If node's condition is false", p.Condition)
	}
	if !strings.Contains(err.Error(), "If_0.else_branch") {
		t.Errorf("message %q does not name the path", err)
	}
}

func TestSileroWith16kOnlyLeaves8kBranchUncovered(t *testing.T) {
	gm := corpusModel(t, "silero_vad_legacy")
	dir := filepath.Dir(testenv.Samples(t, "silero_legacy_16k")[0])
	_, err := calib.Calibrate(t.Context(), gm, openSet(t, gm, dir), calib.AllActivations(gm), calib.Options{Workers: 2})
	paths := uncovered(t, err)
	// Which branch of the top-level If handles 8 kHz follows from the
	// model: the branch with the 8k samples' coverage is the one missing.
	st8 := observeAll(t, newInterpreter(t, gm), openSet(t, gm, filepath.Join(filepath.Dir(dir), "silero_legacy_8k")), 1)
	var branch8k string
	for _, b := range []string{"If_0.then_branch", "If_0.else_branch"} {
		if st8.Coverage[b] == 20 {
			branch8k = b
		}
	}
	if branch8k == "" {
		t.Fatalf("no top-level branch reached by all 8k samples: %v", st8.Coverage)
	}
	if _, ok := paths[branch8k]; !ok {
		t.Fatalf("the 8k branch %s is not reported: %v", branch8k, err)
	}
	for m := range st8.Coverage {
		if strings.HasPrefix(m, branch8k+".") && st8.Coverage[m] > 0 {
			if _, ok := paths[m]; !ok {
				t.Errorf("8k submodule %s is not reported uncovered", m)
			}
		}
	}
	if !strings.Contains(paths[branch8k].Condition, "If node") {
		t.Errorf("condition %q does not name the If node", paths[branch8k].Condition)
	}
}

func TestBadSamplesAreNamed(t *testing.T) {
	gm := corpusModel(t, "resnet18")
	good := testenv.Samples(t, "imagenet224")[0]
	img, err := dataset.ReadNPY(good)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	nan := img.Clone().(*tensor.Dense)
	nan.Data().([]float32)[1234] = float32(math.NaN())
	nanPath := filepath.Join(dir, "with_nan.npy")
	if err := dataset.WriteNPY(nanPath, nan); err != nil {
		t.Fatal(err)
	}
	small := tensor.New(tensor.WithShape(1, 3, 32, 32), tensor.Of(tensor.Float32))
	smallPath := filepath.Join(dir, "too_small.npy")
	if err := dataset.WriteNPY(smallPath, small); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		kind error
		want []string
	}{
		{nanPath, dataset.ErrNonFinite, []string{"with_nan.npy", "NaN", "1234"}},
		{smallPath, dataset.ErrShapeMismatch, []string{"too_small.npy", "[1 3 32 32]", "[1 3 224 224]", `"input"`}},
	} {
		set := openSet(t, gm, good, c.path)
		_, err := calib.Calibrate(t.Context(), gm, set, calib.AllActivations(gm), calib.Options{Workers: 2})
		var se *dataset.SampleError
		if !errors.As(err, &se) || !errors.Is(err, c.kind) {
			t.Fatalf("%s: want a sample error of kind %v, got %v", c.path, c.kind, err)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: message %q lacks %q", c.path, err, w)
			}
		}
	}
}
