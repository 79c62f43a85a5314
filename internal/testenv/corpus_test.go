package testenv

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The model table names every model in the corpus, and every calibration
// folder it names exists, so a model added to the corpus is not silently
// left out of the tests that walk the table.
func TestCorpusTableMatchesTheCorpus(t *testing.T) {
	dir := Corpus(t)
	files, err := filepath.Glob(filepath.Join(dir, "models", "*.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	var onDisk []string
	for _, f := range files {
		onDisk = append(onDisk, strings.TrimSuffix(filepath.Base(f), ".onnx"))
	}
	if !slices.Equal(onDisk, CorpusModels()) {
		t.Errorf("corpus models %v, table %v", onDisk, CorpusModels())
	}
	for _, m := range CorpusModels() {
		for _, set := range CalibSets(m) {
			if _, err := os.Stat(filepath.Join(dir, "calib", set)); err != nil {
				t.Errorf("%s: %v", m, err)
			}
		}
	}
	if CalibSets("no-such-model") != nil {
		t.Error("a name outside the corpus has calibration sets")
	}
}
