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

func TestRunResNet18MatchesOnnxRuntimeReference(t *testing.T) {
	corpus := testenv.Corpus(t)
	out := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := runCLI(t, "run", filepath.Join(corpus, "models", "resnet18.onnx"),
		"--input", "input="+filepath.Join(corpus, "calib", "imagenet224", "sample_000.npy"), "-o", out, "-j", "2")
	if code != exitOK {
		t.Fatalf("exit %d: %s%s", code, stdout, stderr)
	}
	refs, _ := filepath.Glob(filepath.Join(corpus, "reference", "resnet18", "sample_000", "*.npy"))
	if len(refs) == 0 {
		t.Fatal("no reference outputs for resnet18/sample_000")
	}
	for _, ref := range refs {
		want, err := dataset.ReadNPY(ref)
		if err != nil {
			t.Fatal(err)
		}
		got, err := dataset.ReadNPY(filepath.Join(out, filepath.Base(ref)))
		if err != nil {
			t.Fatalf("output %s: %v", filepath.Base(ref), err)
		}
		if e := relativeL2(t, got, want); !(e < 1e-4) {
			t.Errorf("%s: relative L2 error %.3g", filepath.Base(ref), e)
		} else {
			t.Logf("%s: relative L2 error %.3g", filepath.Base(ref), e)
		}
	}
}

func relativeL2(t *testing.T, got, want *tensor.Dense) float64 {
	t.Helper()
	if !got.Shape().Eq(want.Shape()) {
		t.Fatalf("shape %v, want %v", got.Shape(), want.Shape())
	}
	g, ok1 := got.Data().([]float32)
	w, ok2 := want.Data().([]float32)
	if !ok1 || !ok2 {
		t.Fatalf("dtypes %v and %v, want float32", got.Dtype(), want.Dtype())
	}
	var num, den float64
	for i := range g {
		d := float64(g[i]) - float64(w[i])
		num += d * d
		den += float64(w[i]) * float64(w[i])
	}
	return math.Sqrt(num / den)
}

func TestRunNamesOutputFilesSafely(t *testing.T) {
	for name, want := range map[string]string{
		"logits":         "logits.npy",
		"/head/Softmax":  "_head_Softmax.npy",
		"out:0 (x)":      "out_0__x_.npy",
		"a.b-c_d":        "a.b-c_d.npy",
		"..":             "__.npy",
		"../etc/passwd":  ".._etc_passwd.npy",
		"naïve":          "na__ve.npy",
		"output\\shares": "output_shares.npy",
	} {
		if got := outputFileName(name); got != want {
			t.Errorf("outputFileName(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestRunRejectsBadInputsWithoutWritingOutputs(t *testing.T) {
	corpus := testenv.Corpus(t)
	model := filepath.Join(corpus, "models", "resnet18.onnx")
	dir := t.TempDir()
	small := filepath.Join(dir, "small.npy")
	if err := dataset.WriteNPY(small, tensor.New(tensor.WithShape(1, 3, 32, 32), tensor.Of(tensor.Float32))); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	code, _, stderr := runCLI(t, "run", model, "--input", small, "-o", out)
	if code != exitFailure {
		t.Fatalf("exit %d, want %d: %s", code, exitFailure, stderr)
	}
	for _, w := range []string{"small.npy", `"input"`, "[1 3 32 32]", "[1 3 224 224]"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("message %q lacks %q", stderr, w)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("output folder exists after a failed run")
	}
	code, _, stderr = runCLI(t, "run", model, "--input", small, "--input", small, "-o", out)
	if code != exitUsage {
		t.Errorf("two files for a one-input model: exit %d, want %d (%s)", code, exitUsage, stderr)
	}
	code, _, stderr = runCLI(t, "run", model, "-o", out)
	if code != exitUsage {
		t.Errorf("no --input: exit %d, want %d (%s)", code, exitUsage, stderr)
	}
}
