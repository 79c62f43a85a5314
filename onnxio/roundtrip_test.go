package onnxio_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/onnxquant/onnxquant/onnxio"
)

// Every corpus model loads, passes Validate and re-saves to the same bytes.
func TestCorpusModelsValidateAndResaveByteIdentically(t *testing.T) {
	out := t.TempDir()
	n := 0
	for _, path := range corpusModels(t) {
		m, err := onnxio.LoadValidated(path)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		dst := filepath.Join(out, "m.onnx")
		if err := m.Save(dst, onnxio.SaveOptions{}); err != nil {
			t.Errorf("%v", err)
			continue
		}
		want, _ := os.ReadFile(path)
		got, _ := os.ReadFile(dst)
		if !bytes.Equal(want, got) {
			t.Errorf("%s: re-saved bytes differ (%d vs %d bytes)", path, len(got), len(want))
			continue
		}
		n++
	}
	t.Logf("%d models round-tripped byte-identically", n)
}
