package main

import (
	"bytes"
	"strings"
	"testing"
)

// runCLI runs the command line in-process and returns exit code, stdout
// and stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(append([]string{"onnxquant"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestUsageErrorsExitWithTwo(t *testing.T) {
	cases := [][]string{
		{"inspect"},
		{"inspect", "a.onnx", "b.onnx"},
		{"convert", "in.onnx"}, // -o is required
		{"quantize", "in.onnx", "-o", "out.onnx", "--calib", "x", "--target", "ethos-u99-1"},
		{"quantize", "in.onnx", "-o", "out.onnx", "--calib", "x", "--scheme", "int4"},
		{"check", "m.onnx", "--target", "nope"},
		{"inspect", "--no-such-flag", "m.onnx"},
	}
	for _, args := range cases {
		code, _, stderr := runCLI(t, args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d (stderr %q)", args, code, exitUsage, stderr)
		}
		if !strings.Contains(stderr, "onnxquant:") {
			t.Errorf("%v: stderr %q has no error message", args, stderr)
		}
	}
}

func TestUnknownTargetListsValidOnes(t *testing.T) {
	_, _, stderr := runCLI(t, "check", "m.onnx", "--target", "ethos-u99-1")
	for _, want := range []string{`unknown target "ethos-u99-1"`, "ethos-u55-128", "ethos-u65-512", "ethos-u85-2048"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr %q lacks %q", stderr, want)
		}
	}
}

func TestMissingModelFailsWithOneAndNamesIt(t *testing.T) {
	code, _, stderr := runCLI(t, "inspect", "/no/such/model.onnx")
	if code != exitFailure || !strings.Contains(stderr, "/no/such/model.onnx") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}
