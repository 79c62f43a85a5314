package testenv

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/dataset"
)

// Samples lists the samples of the corpus's calibration set (calib/<set>)
// in name order: a .npy file per sample for a single-input model, a folder
// of <input>.npy per sample otherwise.
func Samples(t testing.TB, set string) []string {
	t.Helper()
	dir := filepath.Join(Corpus(t), "calib", set)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		out = append(out, filepath.Join(dir, e.Name()))
	}
	sort.Strings(out)
	return out
}

// ReadSample reads one sample (a path from Samples) as model inputs: a .npy
// file is the model's single input, named input; a folder gives one input
// per <name>.npy in it.
func ReadSample(t testing.TB, path, input string) map[string]*tensor.Dense {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !st.IsDir() {
		d, err := dataset.ReadNPY(path)
		if err != nil {
			t.Fatal(err)
		}
		return map[string]*tensor.Dense{input: d}
	}
	files, err := filepath.Glob(filepath.Join(path, "*.npy"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*tensor.Dense{}
	for _, f := range files {
		d, err := dataset.ReadNPY(f)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".npy")] = d
	}
	return out
}
