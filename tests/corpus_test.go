package tests

import (
	"os"
	"path/filepath"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/calib/dataset"
)

// corpusModels maps each corpus model to its calibration folders (corpus
// README): silero has one folder per code path.
func corpusModels() map[string][]string {
	return map[string][]string{
		"mobilenet_v2":        {"imagenet224"},
		"resnet18":            {"imagenet224"},
		"squeezenet1_1":       {"imagenet224"},
		"mobilenet_v3_small":  {"imagenet224"},
		"tiny_transformer":    {"logmel16x40"},
		"branchy_if_loop":     {"branchy"},
		"silero_vad_legacy":   {"silero_legacy_16k", "silero_legacy_8k"},
		"ppocr_mobile_v2_cls": {"ocr_cls48x192"},
	}
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
