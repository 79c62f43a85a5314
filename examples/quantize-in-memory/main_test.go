package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant"
)

// The example quantizes the project's example model from in-memory
// samples; the result must be legal for the target and record how it was
// made.
func TestQuantizesTinynetFromMemory(t *testing.T) {
	out := filepath.Join(t.TempDir(), "tinynet_int8.onnx")
	res, err := quantize(filepath.Join("..", "..", "models", "tinynet.onnx"), out, "ethos-u85-256")
	if err != nil {
		t.Fatal(err)
	}
	if res.Samples != 16 || res.Points == 0 || res.Target != "ethos-u85-256" {
		t.Errorf("result %+v", res)
	}
	if err := res.Legality.Err(); err != nil {
		t.Errorf("not legal: %v", err)
	}
	if res.Provenance[onnxquant.MetaTarget] != "ethos-u85-256" || res.Provenance[onnxquant.MetaSamples] != "16" {
		t.Errorf("provenance %v", res.Provenance)
	}
	if info, err := os.Stat(out); err != nil || info.Size() == 0 {
		t.Fatalf("output: %v", err)
	}
}

// A sample whose shape the model does not take names the sample.
func TestBadInMemorySampleIsNamed(t *testing.T) {
	model, err := os.ReadFile(filepath.Join("..", "..", "models", "tinynet.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	bad := onnxquant.Samples{{"input": {Shape: []int{1, 3, 16, 16}, Float32: make([]float32, 3*16*16)}}}
	_, _, err = onnxquant.QuantizeModel(t.Context(), model, onnxquant.Options{Samples: bad})
	if err == nil {
		t.Fatal("a 16x16 sample for a 32x32 model was accepted")
	}
	want := `sample "sample 0": input "input": shape [1 3 16 16] does not match the model's [1 3 32 32]`
	if got := err.Error(); !strings.Contains(got, want) {
		t.Errorf("error %q lacks %q", got, want)
	}
}
