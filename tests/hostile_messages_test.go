package tests

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

func TestCycleIsNamed(t *testing.T) {
	dir := t.TempDir()
	b := newGraph("loop").input("x", 1, 4)
	b.node("Add", "first", []string{"x", "b"}, []string{"a"})
	b.node("Relu", "second", []string{"a"}, []string{"b"})
	b.node("Relu", "out", []string{"b"}, []string{"y"})
	b.output("y", onnxpb.TensorProto_FLOAT, 2)
	model := b.save(t, dir, "cycle.onnx")
	for _, cmd := range []string{"check", "inspect"} {
		failsSafely(t, dir, 1, []string{model, "not a DAG", `"first" (Add)`, `"second" (Relu)`, "cycle"}, cmd, model)
	}
}

// TestUnsortedNodesAreSorted: nodes out of order (but acyclic) are
// accepted, as ONNX Runtime does.
func TestUnsortedNodesAreSorted(t *testing.T) {
	dir := t.TempDir()
	b := newGraph("unsorted").input("x", 1, 4)
	b.node("Relu", "late", []string{"a"}, []string{"y"})
	b.node("Neg", "early", []string{"x"}, []string{"a"})
	b.output("y", onnxpb.TensorProto_FLOAT, 2)
	model := b.save(t, dir, "unsorted.onnx")
	in := filepath.Join(dir, "x.npy")
	if err := dataset.WriteNPY(in, tensor.New(tensor.WithShape(1, 4), tensor.WithBacking([]float32{-1, 2, -3, 4}))); err != nil {
		t.Fatal(err)
	}
	r := runBounded(t, "run", model, "--input", in, "-o", filepath.Join(dir, "out"))
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	got, err := dataset.ReadNPY(filepath.Join(dir, "out", "y.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{1, 0, 3, 0}; fmt.Sprint(got.Data()) != fmt.Sprint(want) {
		t.Errorf("y = %v, want %v", got.Data(), want)
	}
}

// TestSparseInitializersAreDenseOrNamed: a sparse initializer is made
// dense at load (run gives x times the dense array); a malformed one (an
// index out of range, indices that do not match the values, a dense shape
// over the budget) is an error naming it, before anything is allocated.
func TestSparseInitializersAreDenseOrNamed(t *testing.T) {
	dir := t.TempDir()
	sparse := func(name string, dims []int64, idxDims []int64, idx ...int64) string {
		b := newGraph("sparse").input("x", 1, 4)
		b.g.SparseInitializer = []*onnxpb.SparseTensorProto{{
			Values:  &onnxpb.TensorProto{Name: proto.String("w"), Dims: []int64{1}, DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), FloatData: []float32{2}},
			Indices: &onnxpb.TensorProto{Name: proto.String("w_idx"), Dims: idxDims, DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Int64Data: idx},
			Dims:    dims,
		}}
		b.node("Mul", "scale", []string{"x", "w"}, []string{"y"})
		b.output("y", onnxpb.TensorProto_FLOAT, 2)
		return b.save(t, dir, name)
	}
	good := sparse("sparse.onnx", []int64{1, 4}, []int64{1}, 1)
	in := filepath.Join(dir, "x.npy")
	if err := dataset.WriteNPY(in, tensor.New(tensor.WithShape(1, 4), tensor.WithBacking([]float32{1, 2, 3, 4}))); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	if r := runBounded(t, "run", good, "--input", in, "-o", out); r.code != 0 {
		t.Fatalf("run: exit %d: %s", r.code, r.stderr)
	}
	got, err := dataset.ReadNPY(filepath.Join(out, "y.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{0, 4, 0, 0}; fmt.Sprint(got.Data()) != fmt.Sprint(want) {
		t.Errorf("y = %v, want %v", got.Data(), want)
	}

	for _, c := range []struct {
		model string
		want  string
	}{
		{sparse("outofrange.onnx", []int64{1, 4}, []int64{1}, 4), "index 4 of value 0 is out of range"},
		{sparse("coords.onnx", []int64{1, 4}, []int64{1, 2}, 0, 7), "index [0 7] of value 0 is out of range"},
		{sparse("nnz.onnx", []int64{1, 4}, []int64{2}, 0, 1), "indices have shape [2]"},
		{sparse("huge.onnx", []int64{1 << 20, 1 << 20, 1 << 10}, []int64{1}, 0), "--max-tensor-bytes"},
		{sparse("overflow.onnx", []int64{1 << 40, 1 << 40}, []int64{1}, 0), "overflows"},
	} {
		want := []string{c.model, `sparse tensor "w"`, c.want}
		failsSafely(t, dir, 1, want, "check", c.model)
		failsSafely(t, dir, 1, want, "run", c.model, "--input", in, "-o", filepath.Join(dir, "outs"))
	}
}

func TestInitializerShadowingAnInputWithAnotherShapeIsNamed(t *testing.T) {
	dir := t.TempDir()
	b := newGraph("shadow").input("x", 1, 4).input("w", 1, 4)
	b.floatTensor("w", []int64{2, 2}, []float32{1, 2, 3, 4})
	b.node("Mul", "scale", []string{"x", "w"}, []string{"y"})
	b.output("y", onnxpb.TensorProto_FLOAT, 2)
	model := b.save(t, dir, "shadow.onnx")
	failsSafely(t, dir, 1, []string{model, `initializer "w"`, "graph input", "[1,4]", "[2 2]"}, "check", model)
}

// TestInspectEscapesNames: a tensor name with terminal escape sequences
// and a line break prints as escapes, not as a cleared screen and a fake
// line.
func TestInspectEscapesNames(t *testing.T) {
	dir := t.TempDir()
	evil := "x\x1b[2J\rwrote /etc/passwd\n\u202e"
	b := newGraph("evil").input(evil, 1, 4)
	b.node("Relu", "r", []string{evil}, []string{"y\x07"})
	b.output("y\x07", onnxpb.TensorProto_FLOAT, 2)
	model := b.save(t, dir, "evil.onnx")
	r := runBounded(t, "inspect", model)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, bad := range []string{"\x1b", "\r", "\x07", "\u202e", "\nwrote"} {
		if strings.Contains(r.stdout, bad) {
			t.Errorf("inspect printed %q raw:\n%q", bad, r.stdout)
		}
	}
	for _, want := range []string{`x\x1b[2J\rwrote /etc/passwd\n\u202e`, `y\a`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("inspect output lacks the escaped name %s:\n%s", want, r.stdout)
		}
	}
	// Errors quoting the names are escaped too.
	failed := runBounded(t, "run", model, "--input", filepath.Join(dir, "missing.npy"), "-o", filepath.Join(dir, "out"))
	if strings.Contains(failed.stderr, "\x1b") {
		t.Errorf("error message printed an escape sequence raw: %q", failed.stderr)
	}
}

// TestInterruptAfterCalibrationLeavesNothing sends SIGINT once calibration
// has finished, while the later stages (parameter computation, Q/DQ
// conversion, legality) run: quantize exits 130 and writes neither the
// model nor the report.
func TestInterruptAfterCalibrationLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	// A long chain keeps the stages after calibration busy for a while.
	b := newGraph("chain").input("x", 1, 8)
	prev := "x"
	for i := range 6000 {
		out := fmt.Sprintf("v%d", i)
		if i%2 == 0 {
			c := fmt.Sprintf("c%d", i)
			b.floatTensor(c, []int64{1, 8}, []float32{0.5, -0.25, 0.125, 1, -1, 0.75, -0.5, float32(i%7) / 8})
			b.node("Add", fmt.Sprintf("n%d", i), []string{prev, c}, []string{out})
		} else {
			b.node("Relu", fmt.Sprintf("n%d", i), []string{prev}, []string{out})
		}
		prev = out
	}
	b.output(prev, onnxpb.TensorProto_FLOAT, 2)
	model := b.save(t, dir, "chain.onnx")
	sample := filepath.Join(dir, "x.npy")
	if err := dataset.WriteNPY(sample, tensor.New(tensor.WithShape(1, 8), tensor.WithBacking([]float32{1, 2, 3, 4, -1, -2, -3, -4}))); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, dir)
	cmd := exec.Command(binary, "quantize", model, "--calib", sample, "-o", filepath.Join(dir, "q.onnx"), "--report", filepath.Join(dir, "r.json"))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	sc := bufio.NewScanner(stderr)
	sent := false
	for sc.Scan() {
		line := sc.Text()
		log.WriteString(line + "\n")
		// The progress line for the last sample: calibration is over.
		if !sent && strings.HasPrefix(line, "calibrate: 1/1") {
			time.Sleep(50 * time.Millisecond)
			cmd.Process.Signal(syscall.SIGINT)
			sent = true
		}
	}
	err = cmd.Wait()
	if !sent {
		t.Fatalf("calibration progress never printed; stderr:\n%s", log.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	if code != 130 {
		t.Errorf("exit %d after SIGINT, want 130; stdout %q; stderr:\n%s", code, stdout.String(), log.String())
	}
	if !strings.Contains(log.String(), "interrupted") {
		t.Errorf("stderr does not say the command was interrupted:\n%s", log.String())
	}
	before.unchanged(t, dir)
	if _, err := os.Stat(filepath.Join(dir, "q.onnx")); err == nil {
		t.Error("q.onnx written after SIGINT")
	}
}

func TestUnknownOpsetIsRefused(t *testing.T) {
	dir := t.TempDir()
	b := newGraph("future").input("x", 1, 4)
	b.node("Relu", "r", []string{"x"}, []string{"y"})
	b.output("y", onnxpb.TensorProto_FLOAT, 2)
	model := b.save(t, dir, "future.onnx")
	m, err := os.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	var pb onnxpb.ModelProto
	if err := proto.Unmarshal(m, &pb); err != nil {
		t.Fatal(err)
	}
	pb.OpsetImport[0].Version = proto.Int64(999)
	out, _ := proto.Marshal(&pb)
	writeFile(t, model, out)
	failsSafely(t, dir, 1, []string{model, "opset 999"}, "check", model)
}

// TestHugeConfigIsRefusedQuickly: a YAML config with 200,000 keys is
// refused by the key cap (go-yaml's duplicate check would take minutes).
func TestHugeConfigIsRefusedQuickly(t *testing.T) {
	dir := t.TempDir()
	model, calib := tinynetIn(t, dir)
	var b strings.Builder
	b.WriteString("module_name:\n")
	for i := range 200000 {
		fmt.Fprintf(&b, "  m%d: int8\n", i)
	}
	cfg := writeFile(t, filepath.Join(dir, "huge.yaml"), []byte(b.String()))
	failsSafely(t, dir, 2, []string{"huge.yaml", "200000 keys", "10000"}, "quantize", model, "--calib", calib, "-o", filepath.Join(dir, "q.onnx"), "--config", cfg)
	dup := writeFile(t, filepath.Join(dir, "dup.yaml"), []byte("module_name:\n  a: int8\n  b: int8\n  a: a16w8\n"))
	failsSafely(t, dir, 2, []string{"dup.yaml", `key "a"`, "line 2"}, "quantize", model, "--calib", calib, "-o", filepath.Join(dir, "q.onnx"), "--config", dup)
}
