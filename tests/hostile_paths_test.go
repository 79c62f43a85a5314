package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// tinynetIn copies the example model and two samples into dir.
func tinynetIn(t *testing.T, dir string) (model, calib string) {
	t.Helper()
	b, err := os.ReadFile(repo("models", "tinynet.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	model = filepath.Join(dir, "tinynet.onnx")
	if err := os.WriteFile(model, b, 0o644); err != nil {
		t.Fatal(err)
	}
	calib = filepath.Join(dir, "calib")
	if err := os.Mkdir(calib, 0o755); err != nil {
		t.Fatal(err)
	}
	exampleSample(t, calib, 0)
	exampleSample(t, calib, 1)
	return model, calib
}

// externalTinynet saves the example model with its weights in
// tinynet.onnx.data beside it.
func externalTinynet(t *testing.T, dir string) string {
	t.Helper()
	m, err := onnxio.Load(repo("models", "tinynet.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	// Save moves only raw data out, so put the weights in raw_data first.
	for _, init := range m.Proto.Graph.Initializer {
		raw, err := onnxio.Bytes(init, "")
		if err != nil {
			t.Fatal(err)
		}
		init.FloatData, init.Int64Data, init.Int32Data, init.RawData = nil, nil, nil, raw
	}
	path := filepath.Join(dir, "tinynet.onnx")
	if err := m.Save(path, onnxio.SaveOptions{ExternalDataThreshold: 64}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + ".data"); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCommandsNeverWriteWhatTheyRead covers every way an output could be
// an input: the report, the stats or the output naming the model, its
// external data, a sample, another output; through a symlinked folder
// too. Each is a usage error (exit 2) before any work, leaving the folder
// byte-identical.
func TestCommandsNeverWriteWhatTheyRead(t *testing.T) {
	dir := t.TempDir()
	model, calib := tinynetIn(t, dir)
	sample := filepath.Join(calib, "sample_000.npy")
	out := filepath.Join(dir, "q.onnx")
	if err := os.Symlink(dir, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		want []string
		args []string
	}{
		{"report is the model", []string{"--report", model, "reads"},
			[]string{"quantize", model, "--calib", calib, "-o", out, "--report", model}},
		{"report is the output", []string{"--report", "output", "same file"},
			[]string{"quantize", model, "--calib", calib, "-o", out, "--report", out}},
		{"report is a sample", []string{"--report", sample},
			[]string{"quantize", model, "--calib", calib, "-o", out, "--report", sample}},
		{"output through a symlinked folder is the model", []string{"input model"},
			[]string{"quantize", model, "--calib", calib, "-o", filepath.Join(dir, "link", "tinynet.onnx")}},
		{"calibrate output is the model", []string{"model", model},
			[]string{"calibrate", model, "--calib", calib, "-o", model}},
		{"calibrate output is a sample", []string{"calibration data"},
			[]string{"calibrate", model, "--calib", calib, "-o", sample}},
		{"convert output is the model by another name", []string{"input model"},
			[]string{"convert", filepath.Join(dir, "link", "tinynet.onnx"), "-o", model}},
		{"run output file is its input", []string{"input", "output"},
			[]string{"run", model, "--input", filepath.Join(dir, "logits.npy"), "-o", dir}},
	}
	// run's input must exist for the clash to be about it.
	if err := dataset.WriteNPY(filepath.Join(dir, "logits.npy"), tensor.New(tensor.WithShape(1, 3, 32, 32), tensor.WithBacking(make([]float32, 3*32*32)))); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			failsSafely(t, dir, 2, c.want, c.args...)
		})
	}
}

func TestOutputIsNeverTheInputsExternalData(t *testing.T) {
	dir := t.TempDir()
	model := externalTinynet(t, dir)
	_, calib := tinynetIn(t, t.TempDir())
	failsSafely(t, dir, 2, []string{model + ".data", "external data"}, "convert", model, "-o", model+".data")
	failsSafely(t, dir, 2, []string{model + ".data", "external data"}, "quantize", model, "--calib", calib, "-o", model+".data")
}

func TestBatchEntriesCannotWriteEachOthersFiles(t *testing.T) {
	dir := t.TempDir()
	model, calib := tinynetIn(t, dir)
	if err := os.Symlink(dir, filepath.Join(dir, "same")); err != nil {
		t.Fatal(err)
	}
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	_ = model
	chained := write("chained.yaml", `models:
  - {model: tinynet.onnx, calib: calib, output: second.onnx}
  - {model: second.onnx, calib: calib, output: third.onnx}
`)
	// second.onnx must exist for the second entry to read it.
	b, _ := os.ReadFile(model)
	write("second.onnx", string(b))
	failsSafely(t, dir, 2, []string{"second.onnx", "reads"}, "batch", chained)
	aliased := write("aliased.yaml", `models:
  - {model: tinynet.onnx, calib: calib, output: out/q.onnx}
  - {model: tinynet.onnx, calib: calib, output: same/out/q.onnx}
`)
	if err := os.Mkdir(filepath.Join(dir, "out"), 0o755); err != nil {
		t.Fatal(err)
	}
	failsSafely(t, dir, 2, []string{"same file"}, "batch", aliased)
	_ = calib
}

// TestFailedCommandsLeaveNothing: a report that cannot be written fails
// quantize before the model is saved; run finds an output-name clash
// before it writes any output.
func TestFailedCommandsLeaveNothing(t *testing.T) {
	dir := t.TempDir()
	model, calib := tinynetIn(t, dir)
	failsSafely(t, dir, 1, []string{"no-such-dir"}, "quantize", model, "--calib", calib,
		"-o", filepath.Join(dir, "q.onnx"), "--report", filepath.Join(dir, "no-such-dir", "r.json"))

	b := newGraph("clash").input("x", 1, 4)
	b.node("Relu", "r1", []string{"x"}, []string{"a/b"})
	b.node("Neg", "r2", []string{"x"}, []string{"a:b"})
	b.output("a/b", onnxpb.TensorProto_FLOAT, 2).output("a:b", onnxpb.TensorProto_FLOAT, 2)
	clash := b.save(t, dir, "clash.onnx")
	in := filepath.Join(dir, "x.npy")
	if err := dataset.WriteNPY(in, tensor.New(tensor.WithShape(1, 4), tensor.WithBacking(make([]float32, 4)))); err != nil {
		t.Fatal(err)
	}
	failsSafely(t, dir, 1, []string{`"a/b"`, `"a:b"`, "a_b.npy"}, "run", clash, "--input", in, "-o", filepath.Join(dir, "outs"))
}

// TestRunReplacesASymlinkInItsOutputFolder: an output whose file name is
// a symlink to a file elsewhere replaces the link; the file it pointed to
// is untouched.
func TestRunReplacesASymlinkInItsOutputFolder(t *testing.T) {
	dir := t.TempDir()
	b := newGraph("relu").input("x", 1, 4)
	b.node("Relu", "r", []string{"x"}, []string{"y"})
	b.output("y", onnxpb.TensorProto_FLOAT, 2)
	model := b.save(t, dir, "relu.onnx")
	in := filepath.Join(dir, "x.npy")
	if err := dataset.WriteNPY(in, tensor.New(tensor.WithShape(1, 4), tensor.WithBacking([]float32{-1, 2, -3, 4}))); err != nil {
		t.Fatal(err)
	}
	elsewhere := filepath.Join(t.TempDir(), "precious.txt")
	if err := os.WriteFile(elsewhere, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	outs := filepath.Join(dir, "outs")
	if err := os.Mkdir(outs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, filepath.Join(outs, "y.npy")); err != nil {
		t.Fatal(err)
	}
	r := runBounded(t, "run", model, "--input", in, "-o", outs)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if b, _ := os.ReadFile(elsewhere); string(b) != "keep me" {
		t.Errorf("run wrote through the symlink: %q", b)
	}
	info, err := os.Lstat(filepath.Join(outs, "y.npy"))
	if err != nil || !info.Mode().IsRegular() {
		t.Errorf("y.npy is not a regular file after run: %v %v", info, err)
	}
	got, err := dataset.ReadNPY(filepath.Join(outs, "y.npy"))
	if err != nil || !strings.Contains(got.String(), "4") {
		t.Errorf("y.npy: %v %v", got, err)
	}
}
