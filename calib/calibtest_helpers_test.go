package calib_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/onnxquant/onnxquant/calib"
	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/internal/interp"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio"
)

// corpusModel loads and lowers models/<name>.onnx of the corpus.
func corpusModel(t testing.TB, name string) *lower.GraphModule {
	t.Helper()
	path := filepath.Join(testenv.Corpus(t), "models", name+".onnx")
	m, err := onnxio.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	gm, err := lower.Lower(m.Proto, m.Dir)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return gm
}

func openSet(t testing.TB, gm *lower.GraphModule, paths ...string) *dataset.Set {
	t.Helper()
	specs, err := dataset.ModelInputSpecs(gm)
	if err != nil {
		t.Fatal(err)
	}
	set, err := dataset.Open(paths, specs)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func newInterpreter(t testing.TB, gm *lower.GraphModule) *interp.Interpreter {
	t.Helper()
	it, err := interp.New(gm, interp.Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	return it
}

// observeAll runs the all-activations plan without the coverage check.
func observeAll(t testing.TB, it *interp.Interpreter, set *dataset.Set, workers int) *calib.Stats {
	t.Helper()
	st, err := calib.Observe(context.Background(), it.Module(), set, calib.AllActivations(it.Module()), calib.Options{Workers: workers})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func statsJSON(t testing.TB, st *calib.Stats) []byte {
	t.Helper()
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// saveLoad round-trips st through a stats file.
func saveLoad(t testing.TB, st *calib.Stats) *calib.Stats {
	t.Helper()
	path := filepath.Join(t.TempDir(), "stats.json")
	if err := st.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := calib.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return back
}

// sameStats fails the test when two stats differ in their JSON form,
// pointing at the first differing byte.
func sameStats(t testing.TB, what string, a, b *calib.Stats) {
	t.Helper()
	ja, jb := statsJSON(t, a), statsJSON(t, b)
	if string(ja) == string(jb) {
		return
	}
	i := 0
	for i < len(ja) && i < len(jb) && ja[i] == jb[i] {
		i++
	}
	lo := max(i-200, 0)
	t.Fatalf("%s: stats differ at byte %d:\n  %s\nvs\n  %s", what, i, ja[lo:min(i+100, len(ja))], jb[lo:min(i+100, len(jb))])
}
