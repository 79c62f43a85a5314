// Package testenv locates the shared test inputs (corpus, ONNX Runtime)
// so every package's tests find them the same way.
package testenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"testing"
)

// Corpus returns the folder of the shared test corpus (CorpusDir). When it
// is missing the test is skipped, except under CI=true, where a missing
// corpus is a failure.
func Corpus(t testing.TB) string {
	t.Helper()
	dir, err := CorpusDir()
	if err != nil {
		missing(t, err.Error())
		return ""
	}
	return dir
}

// CorpusDir finds the shared test corpus: $ONNXQUANT_CORPUS, or
// ../shared/corpus next to the module root. It is for code that can do
// without the corpus (fuzz seeds); tests that need it call Corpus.
func CorpusDir() (string, error) {
	if dir := os.Getenv("ONNXQUANT_CORPUS"); dir != "" {
		if _, err := os.Stat(dir); err != nil {
			return "", fmt.Errorf("ONNXQUANT_CORPUS=%s does not exist", dir)
		}
		return dir, nil
	}
	// This file is internal/testenv/corpus.go: the module root is two up.
	if _, file, _, ok := runtime.Caller(0); ok {
		dir := filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "corpus")
		if _, err := os.Stat(dir); err == nil {
			return filepath.Clean(dir), nil
		}
	}
	return "", errors.New("test corpus not found: set ONNXQUANT_CORPUS")
}

func missing(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// CorpusModels lists the corpus models (models/<name>.onnx) in name order.
func CorpusModels() []string {
	names := make([]string, 0, len(corpusCalib))
	for name := range corpusCalib {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// CalibSets returns the calibration folders (calib/<set>) of a corpus model,
// as the corpus README pairs them; the first is the one its reference
// outputs come from. A model with two code paths (silero's 16 and 8 kHz) has
// one folder per path. It is nil for a name that is not a corpus model.
func CalibSets(model string) []string {
	return slices.Clone(corpusCalib[model])
}

// corpusCalib pairs every corpus model with its calibration folders.
var corpusCalib = map[string][]string{
	"blazeface_front":     {"face128_nhwc"},
	"branchy_if_loop":     {"branchy"},
	"mobilenet_v2":        {"imagenet224"},
	"mobilenet_v3_small":  {"imagenet224"},
	"oww_embedding":       {"oww_mel76x32"},
	"oww_hey_jarvis":      {"oww_emb16x96"},
	"oww_melspectrogram":  {"oww_audio1760"},
	"ppocr_mobile_v2_cls": {"ocr_cls48x192"},
	"ppocr_v3_det":        {"ocr_det256x384"},
	"resnet18":            {"imagenet224"},
	"silero_vad_legacy":   {"silero_legacy_16k", "silero_legacy_8k"},
	"squeezenet1_1":       {"imagenet224"},
	"tiny_transformer":    {"logmel16x40"},
	"yolox_nano":          {"yolox416"},
}

// ReferencePath is the file holding ONNX Runtime's value of a model output
// for one calibration sample (its base name without .npy): the corpus
// writes characters of the output name outside [A-Za-z0-9_.-] as '_'.
func ReferencePath(corpus, model, sample, output string) string {
	safe := []rune(output)
	for i, r := range safe {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			safe[i] = '_'
		}
	}
	return filepath.Join(corpus, "reference", model, sample, string(safe)+".npy")
}

// BaseCorpusModels are the eight models the corpus started with, which the
// per-package corpus tests (qpass, interp, ethosu, tests) run on: small
// enough to run every sample in every package. lower's corpus tests walk all
// of CorpusModels.
func BaseCorpusModels() []string {
	return []string{"mobilenet_v2", "resnet18", "squeezenet1_1", "mobilenet_v3_small", "tiny_transformer", "branchy_if_loop", "silero_vad_legacy", "ppocr_mobile_v2_cls"}
}
