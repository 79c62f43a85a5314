package tests

import (
	"os"
	"path/filepath"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/calib/dataset"
	"github.com/onnxquant/onnxquant/internal/testenv"
)

// corpusModels maps the corpus models these tests run to their calibration
// folders: silero has one folder per code path.
func corpusModels() map[string][]string {
	out := map[string][]string{}
	for _, m := range testenv.BaseCorpusModels() {
		out[m] = testenv.CalibSets(m)
	}
	return out
}

// sampleInputs reads sample i of a calibration folder as model inputs: a
// .npy file is the single input named input, a folder one .npy per input.
func sampleInputs(t *testing.T, dir string, i int, singleInput string) map[string]*tensor.Dense {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	e := entries[i]
	path := filepath.Join(dir, e.Name())
	if !e.IsDir() {
		x, err := dataset.ReadNPY(path)
		if err != nil {
			t.Fatal(err)
		}
		return map[string]*tensor.Dense{singleInput: x}
	}
	files, _ := filepath.Glob(filepath.Join(path, "*.npy"))
	out := map[string]*tensor.Dense{}
	for _, f := range files {
		x, err := dataset.ReadNPY(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f[:len(f)-4])] = x
	}
	return out
}
