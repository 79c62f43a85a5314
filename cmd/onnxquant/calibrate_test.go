package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/internal/testenv"
)

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustNotExist(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("%s exists after a failed command", path)
	}
}

func TestCalibrateJobsAndShardMergeGiveIdenticalFiles(t *testing.T) {
	corpus := testenv.Corpus(t)
	model := filepath.Join(corpus, "models", "branchy_if_loop.onnx")
	data := filepath.Join(corpus, "calib", "branchy")
	des, err := os.ReadDir(data)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	calibrate := func(out string, extra ...string) {
		t.Helper()
		args := append([]string{"calibrate", model, "-o", out, "-q"}, extra...)
		if code, stdout, stderr := runCLI(t, args...); code != exitOK {
			t.Fatalf("%v: exit %d: %s%s", args, code, stdout, stderr)
		}
	}
	calibrate(p("j1.json"), "--calib", data, "-j", "1")
	calibrate(p("j2.json"), "--calib", data, "-j", "2")
	if readFile(t, p("j1.json")) != readFile(t, p("j2.json")) {
		t.Fatal("-j 1 and -j 2 wrote different stats")
	}
	var a, b []string
	for i, de := range des {
		arg := []string{"--calib", filepath.Join(data, de.Name())}
		if i < 5 {
			a = append(a, arg...)
		} else {
			b = append(b, arg...)
		}
	}
	calibrate(p("a.json"), append(a, "--shard")...)
	calibrate(p("b.json"), append(b, "--shard", "-j", "2")...)
	if code, stdout, stderr := runCLI(t, "calibrate", "--merge", p("a.json"), p("b.json"), "-o", p("ab.json")); code != exitOK {
		t.Fatalf("merge: exit %d: %s%s", code, stdout, stderr)
	}
	if readFile(t, p("ab.json")) != readFile(t, p("j1.json")) {
		t.Fatal("merged shards differ from one run over all samples")
	}
}

func TestCalibrateFailsOnUncoveredBranchAndWritesNothing(t *testing.T) {
	corpus := testenv.Corpus(t)
	model := filepath.Join(corpus, "models", "branchy_if_loop.onnx")
	data := filepath.Join(corpus, "calib", "branchy")
	des, err := os.ReadDir(data)
	if err != nil {
		t.Fatal(err)
	}
	var positive []string
	for _, de := range des {
		mode, err := dataset.ReadNPY(filepath.Join(data, de.Name(), "mode.npy"))
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := mode.Data().([]float32); ok && v[0] > 0 {
			positive = append(positive, "--calib", filepath.Join(data, de.Name()))
		}
	}
	if len(positive) == 0 || len(positive) == 2*len(des) {
		t.Fatalf("expected some samples with mode > 0 and some without, got %d of %d", len(positive)/2, len(des))
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "stats.json")
	code, _, stderr := runCLI(t, append([]string{"calibrate", model, "-o", out, "-q"}, positive...)...)
	if code != exitFailure {
		t.Fatalf("exit %d, want %d: %s", code, exitFailure, stderr)
	}
	for _, w := range []string{"If_0.else_branch", "is false", "reached by no calibration sample"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("message %q lacks %q", stderr, w)
		}
	}
	mustNotExist(t, out)
	// As a shard it is fine, and merging it alone reports the same path.
	shard := filepath.Join(dir, "shard.json")
	if code, _, stderr := runCLI(t, append([]string{"calibrate", model, "-o", shard, "-q", "--shard"}, positive...)...); code != exitOK {
		t.Fatalf("--shard: exit %d: %s", code, stderr)
	}
	code, _, stderr = runCLI(t, "calibrate", "--merge", shard, "-o", out)
	if code != exitFailure || !strings.Contains(stderr, "If_0.else_branch") || !strings.Contains(stderr, `"/If"`) {
		t.Fatalf("merge of an uncovered shard: exit %d, stderr %q", code, stderr)
	}
	mustNotExist(t, out)
}

func TestCalibrateRejectsBadSamplesAndWritesNothing(t *testing.T) {
	corpus := testenv.Corpus(t)
	model := filepath.Join(corpus, "models", "resnet18.onnx")
	good := filepath.Join(corpus, "calib", "imagenet224", "sample_000.npy")
	img, err := dataset.ReadNPY(good)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	nan := img.Clone().(*tensor.Dense)
	nan.Data().([]float32)[7] = float32(math.NaN())
	nanPath := filepath.Join(dir, "nan_sample.npy")
	if err := dataset.WriteNPY(nanPath, nan); err != nil {
		t.Fatal(err)
	}
	wrongPath := filepath.Join(dir, "wrong_shape.npy")
	if err := dataset.WriteNPY(wrongPath, tensor.New(tensor.WithShape(1, 3, 224, 225), tensor.Of(tensor.Float32))); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "stats.json")
	for _, c := range []struct {
		path string
		want []string
	}{
		{nanPath, []string{"nan_sample.npy", "NaN"}},
		{wrongPath, []string{"wrong_shape.npy", `"input"`, "[1 3 224 225]", "[1 3 224 224]"}},
	} {
		code, _, stderr := runCLI(t, "calibrate", model, "--calib", c.path, "-o", out, "-q")
		if code != exitFailure {
			t.Errorf("%s: exit %d, want %d: %s", c.path, code, exitFailure, stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%s: message %q lacks %q", c.path, stderr, w)
			}
		}
		mustNotExist(t, out)
	}
}

func TestCalibrateUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"calibrate", "m.onnx", "-o", "s.json"},                            // no --calib
		{"calibrate", "m.onnx", "--calib", "x"},                            // no -o
		{"calibrate", "--merge", "-o", "s.json"},                           // nothing to merge
		{"calibrate", "--merge", "a.json", "--calib", "x", "-o", "s.json"}, // --calib with --merge
		{"calibrate", "m.onnx", "--calib", "x", "-o", "s.json", "-j", "0"},
	} {
		if code, _, stderr := runCLI(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, exitUsage, stderr)
		}
	}
}
