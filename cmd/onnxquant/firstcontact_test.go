package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant"
)

func TestUnknownCommandExitsTwoAndProposesTheNearest(t *testing.T) {
	code, _, stderr := runCLI(t, "quantise", "m.onnx")
	if code != exitUsage {
		t.Fatalf("exit %d, want %d", code, exitUsage)
	}
	if !strings.Contains(stderr, `unknown command "quantise"; did you mean quantize?`) {
		t.Errorf("stderr %q", stderr)
	}
	code, _, stderr = runCLI(t, "frobnicate")
	if code != exitUsage || strings.Contains(stderr, "did you mean") || !strings.Contains(stderr, "commands: inspect") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestUnknownFlagProposesTheNearest(t *testing.T) {
	code, _, stderr := runCLI(t, "quantize", "m.onnx", "-o", "x.onnx", "--calib", "d", "--shceme", "a16w8")
	if code != exitUsage || !strings.Contains(stderr, "unknown flag --shceme; did you mean --scheme?") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestVersionPrintsTheRelease(t *testing.T) {
	code, stdout, _ := runCLI(t, "--version")
	if code != exitOK || strings.TrimSpace(stdout) != "onnxquant version "+onnxquant.Version {
		t.Errorf("exit %d, stdout %q", code, stdout)
	}
}

func TestJobsBelowOneIsAUsageErrorEverywhere(t *testing.T) {
	for _, args := range [][]string{
		{"quantize", "m.onnx", "-o", "x.onnx", "--calib", "d", "-j", "0"},
		{"calibrate", "m.onnx", "-o", "x.json", "--calib", "d", "-j", "-1"},
		{"eval", "--float", "f", "--quant", "q", "--data", "d", "-j", "0"},
		{"run", "m.onnx", "-i", "x.npy", "-o", "out", "-j", "0"},
		{"batch", "m.yaml", "-j", "0"},
	} {
		code, _, stderr := runCLI(t, args...)
		if code != exitUsage || !strings.Contains(stderr, "expected at least 1") {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
}

func TestListFlagsTakeEverySamplePathAfterThem(t *testing.T) {
	dir := t.TempDir()
	folder := filepath.Join(dir, "more")
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	app := newApp(nil, nil)
	got := interspersed(app, []string{"onnxquant", "quantize", "m.onnx", "--calib", "a.npy", "b.npy", folder, "c.npz", "-o", "x.onnx"})
	want := []string{"onnxquant", "quantize", "--calib", "a.npy", "--calib", "b.npy", "--calib", folder, "--calib", "c.npz", "-o", "x.onnx", "--", "m.onnx"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	// A model after the samples stays positional.
	got = interspersed(app, []string{"onnxquant", "calibrate", "--calib", "a.npy", "b.npy", "m.onnx", "-o", "s.json"})
	want = []string{"onnxquant", "calibrate", "--calib", "a.npy", "--calib", "b.npy", "-o", "s.json", "--", "m.onnx"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
