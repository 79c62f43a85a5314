package tests

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// weightlessModel is Relu over an input [1, 3, ?, ?]: no tensor of its own,
// so a small --max-tensor-bytes refuses nothing in the model and only the
// samples can break the budget.
func weightlessModel(t *testing.T, dir string) string {
	t.Helper()
	b := newGraph("relu").input("input", 1, 3, -1, -1)
	b.node("Relu", "relu", []string{"input"}, []string{"out"})
	b.output("out", onnxpb.TensorProto_FLOAT, 4)
	return b.save(t, dir, "relu.onnx")
}

// floatNPY is a well-formed float32 .npy of the given shape, all zeros.
func floatNPY(shape ...int) []byte {
	n := 1
	dims := ""
	for i, d := range shape {
		n *= d
		if i > 0 {
			dims += ", "
		}
		dims += strconv.Itoa(d)
	}
	return npyBytes(`{'descr': '<f4', 'fortran_order': False, 'shape': (`+dims+`), }`, make([]byte, 4*n))
}

// TestSampleBudgetComesFromTheFlag: --max-tensor-bytes reaches the .npy,
// .npz and input_N.pb readers, which refuse a sample over it from its
// header, with a message naming the file and the budget; at the default
// budget the same samples are read and the model runs.
func TestSampleBudgetComesFromTheFlag(t *testing.T) {
	dir := t.TempDir()
	model := weightlessModel(t, dir)
	// 1x3x64x64 float32 is 49,152 bytes; the budget is 40,000.
	const budget = "40000"
	npy := writeFile(t, filepath.Join(dir, "big.npy"), floatNPY(1, 3, 64, 64))

	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	w, err := zw.Create("input.npy")
	if err != nil {
		t.Fatal(err)
	}
	w.Write(floatNPY(1, 3, 64, 64))
	zw.Close()
	npz := writeFile(t, filepath.Join(dir, "big.npz"), zb.Bytes())

	pbDir := filepath.Join(dir, "test_data_set_0")
	if err := os.Mkdir(pbDir, 0o755); err != nil {
		t.Fatal(err)
	}
	tp := &onnxpb.TensorProto{Name: proto.String("input"), Dims: []int64{1, 3, 64, 64},
		DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), RawData: make([]byte, 4*3*64*64)}
	pb, err := proto.Marshal(tp)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(pbDir, "input_0.pb"), pb)

	for _, c := range []struct {
		name, sample string
		want         []string
	}{
		{"npy", npy, []string{"big.npy", "[1 3 64 64] needs 49152 bytes"}},
		{"npz", npz, []string{"big.npz", `array "input" declares 49280 bytes`}},
		{"pb", pbDir, []string{"input_0.pb", "[1 3 64 64] needs 49152 bytes"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			want := append(c.want, "--max-tensor-bytes budget of "+budget)
			failsSafely(t, dir, 1, want, "quantize", model, "--calib", c.sample, "-o", filepath.Join(dir, "q.onnx"),
				"--max-tensor-bytes", budget)
			failsSafely(t, dir, 1, want, "calibrate", model, "--calib", c.sample, "-o", filepath.Join(dir, "s.json"),
				"--max-tensor-bytes", budget)
			failsSafely(t, dir, 1, want, "run", model, "--input", c.sample, "-o", filepath.Join(dir, "outs"),
				"--max-tensor-bytes", budget)
			// The default budget takes the same sample: the refusal above
			// is the flag's, not the file's.
			outs := filepath.Join(t.TempDir(), "outs")
			if r := runBounded(t, "run", model, "--input", c.sample, "-o", outs); r.code != 0 {
				t.Fatalf("run at the default budget: exit %d: %s", r.code, r.stderr)
			}
			if _, err := os.Stat(filepath.Join(outs, "out.npy")); err != nil {
				t.Errorf("run at the default budget wrote no output: %v", err)
			}
		})
	}
}

// TestSampleHeaderIsCheckedAgainstTheModelFirst: an .npy header claiming a
// huge array of a shape the model cannot take is refused for its shape
// (naming the file, the input and both shapes) before its size is looked
// at; a header of the right shape and the wrong dtype is refused for its
// dtype. Run under the address-space limit: nothing is allocated.
func TestSampleHeaderIsCheckedAgainstTheModelFirst(t *testing.T) {
	dir := t.TempDir()
	model, _ := tinynetIn(t, dir)
	huge := writeFile(t, filepath.Join(dir, "huge.npy"),
		npyBytes(`{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 100000, 100000), }`, nil))
	wrongType := writeFile(t, filepath.Join(dir, "int.npy"),
		npyBytes(`{'descr': '<i8', 'fortran_order': False, 'shape': (1, 3, 32, 32), }`, nil))
	// A stacked file whose header claims 10^9 samples it does not hold is
	// refused before it is split (not listed as a billion samples).
	stacked := writeFile(t, filepath.Join(dir, "stacked.npy"),
		npyBytes(`{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000, 3, 32, 32), }`, make([]byte, 4*3*32*32)))
	out := filepath.Join(dir, "q.onnx")
	shapeMsg := []string{"huge.npy", `input "input"`, "[1 3 100000 100000]", "[1 3 32 32]"}
	failsSafely(t, dir, 1, shapeMsg, "quantize", model, "--calib", huge, "-o", out)
	failsSafely(t, dir, 1, shapeMsg, "run", model, "--input", huge, "-o", filepath.Join(dir, "outs"))
	failsSafely(t, dir, 1, []string{"int.npy", `input "input"`, "dtype int64", "float32"}, "quantize", model, "--calib", wrongType, "-o", out)
	failsSafely(t, dir, 1, []string{"stacked.npy", `input "input"`, "only 12288 bytes"}, "quantize", model, "--calib", stacked, "-o", out)
}

// TestSampleHeaderFittingTheModelIsBounded: headers whose shape the model
// takes (its sizes are dynamic) but that claim 10^12 elements, or a count
// that overflows, are refused by the budget or the overflow check, naming
// the file, before anything is allocated.
func TestSampleHeaderFittingTheModelIsBounded(t *testing.T) {
	dir := t.TempDir()
	model := weightlessModel(t, dir)
	huge := writeFile(t, filepath.Join(dir, "huge.npy"),
		npyBytes(`{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 1000000, 1000000), }`, nil))
	overflow := writeFile(t, filepath.Join(dir, "overflow.npy"),
		npyBytes(`{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 4294967296, 4294967296), }`, nil))
	out := filepath.Join(dir, "q.onnx")
	for _, cmd := range [][]string{{"quantize", model, "--calib", huge, "-o", out}, {"run", model, "--input", huge, "-o", filepath.Join(dir, "outs")}} {
		failsSafely(t, dir, 1, []string{"huge.npy", "[1 3 1000000 1000000] needs 12000000000000 bytes", "--max-tensor-bytes"}, cmd...)
	}
	failsSafely(t, dir, 1, []string{"overflow.npy", "overflows"}, "quantize", model, "--calib", overflow, "-o", out)
}
