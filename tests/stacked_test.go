package tests

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/internal/onnxdense"
	"github.com/onnxquant/onnxquant/internal/testmodel"
)

// stackedForms writes one stacked array (the single input of a model
// named input) as a .npz archive and as an ONNX test_data_set folder.
func stackedForms(t *testing.T, dir string, d *tensor.Dense) (npz, pb string) {
	t.Helper()
	var npy bytes.Buffer
	if err := dataset.EncodeNPY(&npy, d); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("input.npy")
	if err != nil {
		t.Fatal(err)
	}
	w.Write(npy.Bytes())
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	npz = filepath.Join(dir, "stacked.npz")
	if err := os.WriteFile(npz, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	tp, err := onnxdense.FromDense("input", d)
	if err != nil {
		t.Fatal(err)
	}
	b, err := proto.Marshal(tp)
	if err != nil {
		t.Fatal(err)
	}
	pb = filepath.Join(dir, "test_data_set_0")
	if err := os.MkdirAll(pb, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pb, "input_0.pb"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return npz, pb
}

// The example samples stacked in a .npz or a test_data_set folder are
// split into batch-1 samples as a stacked .npy is, reported, and give the
// model the separate files give, byte for byte.
func TestStackedNPZAndTestDataSetAreSplitLikeAStackedNPY(t *testing.T) {
	dir := t.TempDir()
	var all []float32
	for i := range 16 {
		d, err := dataset.ReadNPY(exampleName(i))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, d.Data().([]float32)...)
	}
	npz, pb := stackedForms(t, dir, tensor.New(tensor.WithShape(16, 3, 32, 32), tensor.WithBacking(all)))
	ref := filepath.Join(dir, "ref.onnx")
	if r := onnxquant(t, "quantize", "models/tinynet.onnx", "--calib", "models/tinynet_calib", "-o", ref, "-q"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	for _, stacked := range []string{npz, pb} {
		out := filepath.Join(dir, filepath.Base(stacked)+".onnx")
		r := onnxquant(t, "quantize", "models/tinynet.onnx", "--calib", stacked, "-o", out)
		if r.code != 0 {
			t.Fatalf("%s: exit %d: %s", stacked, r.code, r.stderr)
		}
		if !strings.Contains(r.stdout, "16 calibration samples") {
			t.Errorf("%s: stdout %q does not count 16 samples", stacked, r.stdout)
		}
		if want := "stacks 16 samples along its batch axis: split into 16 samples of batch 1"; !strings.Contains(r.stderr, want) {
			t.Errorf("%s: stderr lacks %q:\n%s", stacked, want, r.stderr)
		}
		if sha(t, out) != sha(t, ref) {
			t.Errorf("%s: the stacked samples give another model than the same samples as files", stacked)
		}
	}
}

// sequenceModel is a [T, 1, F] model (time first, batch 1 second, as
// recurrent exporters write): y = relu(x * w + b), per feature.
func sequenceModel(t *testing.T, dir string, dims ...int64) string {
	t.Helper()
	f := dims[len(dims)-1]
	return testmodel.New(17).Input("input", dims...).
		Init("w", []int64{f}, testmodel.Ramp(1, int(f), 0.5, 1.5)...).
		Init("b", []int64{f}, testmodel.Ramp(2, int(f), -0.5, 0.5)...).
		NamedNode("/mul/Mul", "Mul", []string{"input", "w"}, []string{"m"}).
		NamedNode("/add/Add", "Add", []string{"m", "b"}, []string{"a"}).
		NamedNode("/relu/Relu", "Relu", []string{"a"}, []string{"y"}).
		Output("y", dims...).
		Save(t, dir, "sequence.onnx")
}

// A model taking [T, 1, F] has a stacked [T, N, F] file split along axis
// 1, the axis it declares as 1, into N samples of [T, 1, F] (not T samples
// along the first axis); the split names the axis, and the model is the
// one the N separate samples give.
func TestStackedSamplesSplitAlongTheModelsBatchAxisNotTheFirst(t *testing.T) {
	dir := t.TempDir()
	model := sequenceModel(t, dir, 5, 1, 8)
	const n = 6
	stack := make([]float32, 5*n*8)
	for i := range stack {
		stack[i] = float32((i*37)%23)/11 - 1
	}
	stacked := filepath.Join(dir, "stacked.npy")
	if err := dataset.WriteNPY(stacked, tensor.New(tensor.WithShape(5, n, 8), tensor.WithBacking(stack))); err != nil {
		t.Fatal(err)
	}
	// The same samples as files: sample s is stack[:, s, :].
	files := filepath.Join(dir, "files")
	for s := range n {
		one := make([]float32, 0, 5*8)
		for step := range 5 {
			one = append(one, stack[(step*n+s)*8:(step*n+s+1)*8]...)
		}
		p := filepath.Join(files, "sample_"+string(rune('a'+s))+".npy")
		if err := os.MkdirAll(files, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := dataset.WriteNPY(p, tensor.New(tensor.WithShape(5, 1, 8), tensor.WithBacking(one))); err != nil {
			t.Fatal(err)
		}
	}
	out, ref := filepath.Join(dir, "q.onnx"), filepath.Join(dir, "ref.onnx")
	r := onnxquant(t, "quantize", model, "--calib", stacked, "-o", out, "--min-sqnr", "0")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if want := `stacks 6 samples along its batch axis (axis 1 of input "input"): split into 6 samples of batch 1`; !strings.Contains(r.stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
	}
	if !strings.Contains(r.stdout, "6 calibration samples") {
		t.Errorf("stdout %q does not count 6 samples", r.stdout)
	}
	if got := inputDims(t, out); !slices.Equal(got, []int64{5, 1, 8}) {
		t.Errorf("output input dims %v, want [5 1 8]", got)
	}
	if r := onnxquant(t, "quantize", model, "--calib", files, "-o", ref, "--min-sqnr", "0", "-q"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if sha(t, out) != sha(t, ref) {
		t.Errorf("the stacked file gives another model than its samples as files")
	}
}

// A model taking [1, 1, F] cannot tell which of its two axes of 1 a
// [2, 3, F] file stacks samples on: quantize refuses it, naming the file,
// the shapes and the axes, and writes nothing.
func TestStackedSamplesOnTwoAxesDeclaredOneAreRefused(t *testing.T) {
	dir := t.TempDir()
	model := sequenceModel(t, dir, 1, 1, 8)
	stacked := filepath.Join(dir, "stacked.npy")
	if err := dataset.WriteNPY(stacked, tensor.New(tensor.WithShape(2, 3, 8), tensor.WithBacking(make([]float32, 2*3*8)))); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "q.onnx")
	failsCleanly(t, 1, out, []string{"stacked.npy", `"input"`, "[2 3 8]", "[1 1 8]", "axes 0 and 1", "ambiguous"},
		model, "--calib", stacked, "-o", out)
}
