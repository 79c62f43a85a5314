// Package tests holds the end-to-end tests: they build the onnxquant
// binary and run it the way users do, on the example model in models/ and
// on the shared corpus, checking exit codes, messages (transcripts in
// testdata/transcripts), output files and the quantized models' outputs, in
// the float interpreter and, built with -tags ort, in ONNX Runtime.
package tests

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "onnxquant-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "onnxquant")
	build := exec.Command("go", "build", "-o", binary, "../cmd/onnxquant")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building onnxquant:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is one run of the binary.
type result struct {
	code           int
	stdout, stderr string
}

// onnxquant runs the binary from the repository root.
func onnxquant(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	_, file, _, _ := runtime.Caller(0)
	cmd.Dir = filepath.Dir(filepath.Dir(file))
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errOut.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running onnxquant: %v", err)
	}
	return r
}

// repo returns an absolute path inside the repository.
func repo(parts ...string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(append([]string{filepath.Dir(filepath.Dir(file))}, parts...)...)
}

func mustNotExist(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err == nil {
		t.Errorf("%s exists after a failed command", path)
	}
	// Nor may a temporary file be left beside it.
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+"*"))
	if len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}
