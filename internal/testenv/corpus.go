// Package testenv locates the shared test inputs (corpus, ONNX Runtime)
// so every package's tests find them the same way.
package testenv

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Corpus returns the folder of the shared test corpus: $ONNXQUANT_CORPUS,
// or ../shared/corpus next to the module root. When neither exists the test
// is skipped, except under CI=true, where a missing corpus is a failure.
func Corpus(t testing.TB) string {
	t.Helper()
	if dir := os.Getenv("ONNXQUANT_CORPUS"); dir != "" {
		if _, err := os.Stat(dir); err == nil {
			return dir
		}
		missing(t, "ONNXQUANT_CORPUS="+dir+" does not exist")
		return ""
	}
	// This file is internal/testenv/corpus.go: the module root is two up.
	_, file, _, ok := runtime.Caller(0)
	if ok {
		dir := filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "corpus")
		if _, err := os.Stat(dir); err == nil {
			return filepath.Clean(dir)
		}
	}
	missing(t, "test corpus not found: set ONNXQUANT_CORPUS")
	return ""
}

func missing(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}
