package tests

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBatchEntriesOverrideTheFlagsPerModel: a manifest entry sets what
// quantize's flags set for one model. The log-domain model fails the
// batch's --min-sqnr 10 in one entry, is written by another whose min_sqnr
// is 0, and is cut after its front end (cut_from, calib_full) with a
// TFLite written beside it in a third; the failing entry writes nothing.
func TestBatchEntriesOverrideTheFlagsPerModel(t *testing.T) {
	dir := t.TempDir()
	logFrontEndModel(t, dir)
	calib := writeSamples(t, 12, []int{1, 64}, func(i, j int) float32 {
		level := math.Pow(10, float64(i%4)) * 3
		return float32(level * math.Sin(float64(j)*0.7+float64(i)) * (1 + 0.5*math.Cos(float64(j*j+i))))
	})
	manifest := filepath.Join(dir, "manifest.yaml")
	text := "models:\n" +
		"  - {model: logfrontend.onnx, calib: " + calib + ", output: out/default.onnx}\n" +
		"  - {model: logfrontend.onnx, calib: " + calib + ", output: out/nofloor.onnx, min_sqnr: 0}\n" +
		"  - model: logfrontend.onnx\n    calib: " + calib + "\n    output: out/cut.onnx\n    tflite: out/cut.tflite\n" +
		"    cut_from: features\n    calib_full: true\n    observer: minmax\n    min_sqnr: 12.5\n"
	if err := os.WriteFile(manifest, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	r := onnxquant(t, "batch", manifest, "--min-sqnr", "10")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1 (one entry fails); stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "FAILED") || !strings.Contains(r.stderr, "below --min-sqnr 10 dB") {
		t.Errorf("the default entry should fail the batch's floor:\n%s", r.stderr)
	}
	if !strings.Contains(r.stdout, "3 model(s): 2 ok, 1 failed") {
		t.Errorf("table:\n%s", r.stdout)
	}
	mustNotExist(t, filepath.Join(dir, "out", "default.onnx"))
	for _, f := range []string{"nofloor.onnx", "cut.onnx", "cut.tflite"} {
		if _, err := os.Stat(filepath.Join(dir, "out", f)); err != nil {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	cut := filepath.Join(dir, "out", "cut.onnx")
	if r := onnxquant(t, "inspect", cut); !strings.Contains(r.stdout, "input      features FLOAT [1,16]") ||
		!strings.Contains(r.stdout, "onnxquant.observers") || !strings.Contains(r.stdout, "minmax") {
		t.Errorf("the cut entry should take features as input and record the minmax observer:\n%s", r.stdout)
	}
}

// TestBatchEntryOverrideMistakesAreUsageErrors: a bad per-entry value is a
// usage error of the whole batch, naming the entry, before any model runs.
func TestBatchEntryOverrideMistakesAreUsageErrors(t *testing.T) {
	dir, _ := batchDir(t, false)
	cases := map[string]string{
		"- {model: a.onnx, calib: x, output: out/a.onnx, min_sqnr: -3}\n":           "entry 1 (" + filepath.Join(dir, "a.onnx") + "): min_sqnr -3",
		"- {model: a.onnx, calib: x, output: out/a.onnx, observer: median}\n":       `observer "median"`,
		"- {model: a.onnx, calib: x, output: out/a.onnx, input_shape: \"x=1,0\"}\n": `input_shape "x=1,0": "0" is not a size`,
		"- {model: a.onnx, calib: x, output: out/a.onnx, calib_full: true}\n":       "calib_full needs cut_from",
		"- {model: a.onnx, calib: x, output: out/a.onnx, min_sqnr: ten}\n":          "min_sqnr",
		"- {model: a.onnx, calib: x, output: out/a.onnx, tflite: out/b.onnx}\n" +
			"- {model: a.onnx, calib: x, output: out/b.onnx}\n": "same output",
	}
	i := 0
	for text, want := range cases {
		i++
		p := filepath.Join(dir, "m"+string(rune('a'+i))+".yaml")
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		r := onnxquant(t, "batch", p)
		if r.code != 2 || !strings.Contains(r.stderr, want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", text, r.code, r.stderr, want)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "out", "*")); len(left) > 0 {
		t.Errorf("usage errors wrote %v", left)
	}
}
