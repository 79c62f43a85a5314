package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDumpAfterListNamesEveryStageAndPass(t *testing.T) {
	code, out, stderr := runCLI(t, "quantize", "--dump-after", "list")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"bind-shapes ", "transform ", "  fold-batchnorm ", "  decompose-softmax ", "calibrate ", "check ", "raise "} {
		if !strings.Contains(out, want) {
			t.Errorf("--dump-after list lacks %q:\n%s", want, out)
		}
	}
}

func TestDumpAfterStageAndVerboseTimings(t *testing.T) {
	out := filepath.Join(t.TempDir(), "q.onnx")
	code, _, stderr := runCLI(t, "quantize", "../../models/tinynet.onnx", "--calib", "../../models/tinynet_calib", "-o", out, "-q", "--verbose", "--dump-after", "convert")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"stage bind-shapes: ", "fold-batchnorm: ", "stage calibrate-split: ", "stage choose-ranges: ", " ms)", "graph after convert:\n", "QuantizeLinear"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("verbose output lacks %q", want)
		}
	}
}

func TestStageAndSchemeMistakesAreUsageErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(cfg, []byte("module_type:\n  Conv: uint8\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "q.onnx")
	base := []string{"quantize", "../../models/tinynet.onnx", "--calib", "../../models/tinynet_calib", "-o", out}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--dump-after", "no-such-stage"}, `dump after "no-such-stage": no such stage or pass`},
		{[]string{"--scheme", "uint8"}, `scheme "uint8": expected int8, int8-per-tensor or a16w8`},
		{[]string{"--config", cfg}, `module_type "Conv": invalid quantizer configuration: scheme "uint8" cannot be used for module_type`},
	} {
		code, _, stderr := runCLI(t, append(base, c.args...)...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", c.args, code, stderr, c.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v: wrote %s", c.args, out)
		}
	}
}

func TestDumpAfterPrintsTheGraphWithoutVerbose(t *testing.T) {
	out := filepath.Join(t.TempDir(), "q.onnx")
	code, _, stderr := runCLI(t, "quantize", "../../models/tinynet.onnx", "--calib", "../../models/tinynet_calib", "-o", out, "-q", "--dump-after", "annotate")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.HasPrefix(stderr, "graph after annotate:\n") || strings.Contains(stderr, "stage ") {
		t.Errorf("want the dump alone, got %q", stderr[:min(len(stderr), 200)])
	}
}
