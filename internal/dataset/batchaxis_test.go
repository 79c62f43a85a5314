package dataset_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/internal/onnxdense"
)

// counting returns a float32 array of the shape holding 0, 1, 2, ... in
// row-major order, so a sample's values say where they came from.
func counting(shape ...int) *tensor.Dense {
	n := 1
	for _, d := range shape {
		n *= d
	}
	data := make([]float32, n)
	for i := range data {
		data[i] = float32(i)
	}
	return dense(shape, data...)
}

// writePB writes d as the TensorProto file path (an input_N.pb).
func writePB(t *testing.T, path, name string, d *tensor.Dense) {
	t.Helper()
	tp, err := onnxdense.FromDense(name, d)
	if err != nil {
		t.Fatal(err)
	}
	b, err := proto.Marshal(tp)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// loadAll opens paths with batch splitting and returns every sample's
// arrays, failing on any error.
func loadAll(t *testing.T, specs []dataset.InputSpec, paths ...string) (*dataset.Set, []dataset.Sample) {
	t.Helper()
	set, err := dataset.OpenSamples(paths, specs, dataset.Options{SplitBatches: true, SameShapes: true})
	if err != nil {
		t.Fatal(err)
	}
	var out []dataset.Sample
	for i := range set.Len() {
		smp, err := set.Load(i)
		if err != nil {
			t.Fatalf("sample %d: %v", i, err)
		}
		out = append(out, smp)
	}
	return set, out
}

func wantSample(t *testing.T, smp dataset.Sample, input string, shape []int, data []float32) {
	t.Helper()
	d := smp.Inputs[input]
	if d == nil {
		t.Fatalf("%s: no input %q", smp.Name, input)
	}
	if got := d.Data().([]float32); !slices.Equal([]int(d.Shape()), shape) || !slices.Equal(got, data) {
		t.Errorf("%s: input %q is %v %v, want %v %v", smp.Name, input, d.Shape(), got, shape, data)
	}
}

// A stacked .npz, an ONNX test_data_set folder and a folder of .npy files
// holding the same 4 stacked samples split alike into the same 4 samples
// of batch 1, reported as splits, as a stacked .npy does.
func TestEverySampleFormStacksAndSplitsAlike(t *testing.T) {
	dir := t.TempDir()
	specs := []dataset.InputSpec{
		{Name: "x", DType: tensor.Float32, Shape: []int{1, 2, 3}},
		{Name: "y", DType: tensor.Float32, Shape: []int{-1, 2}, DimNames: []string{"batch", ""}},
	}
	x, y := counting(4, 2, 3), counting(4, 2)
	npz := filepath.Join(dir, "stack.npz")
	writeNPZ(t, npz, map[string]*tensor.Dense{"x.npy": x, "y.npy": y})
	pb := filepath.Join(dir, "test_data_set_0")
	writePB(t, filepath.Join(pb, "input_0.pb"), "x", x)
	writePB(t, filepath.Join(pb, "input_1.pb"), "y", y)
	folder := filepath.Join(dir, "folder")
	writeNPY(t, filepath.Join(folder, "x.npy"), x)
	writeNPY(t, filepath.Join(folder, "y.npy"), y)
	for _, p := range []string{npz, pb, folder} {
		set, smps := loadAll(t, specs, p)
		if len(smps) != 4 {
			t.Fatalf("%s: %d samples, want 4", p, len(smps))
		}
		if got := set.Splits(); len(got) != 1 || got[0].Path != p || got[0].Count != 4 || got[0].Axes["x"] != 0 || got[0].Axes["y"] != 0 {
			t.Errorf("%s: splits %+v", p, got)
		}
		if got := set.Shapes(); !slices.Equal(got["x"], []int{1, 2, 3}) || !slices.Equal(got["y"], []int{1, 2}) {
			t.Errorf("%s: shapes %v", p, got)
		}
		if smps[2].Name != p+"[2]" {
			t.Errorf("%s: sample 2 is named %q", p, smps[2].Name)
		}
		wantSample(t, smps[2], "x", []int{1, 2, 3}, []float32{12, 13, 14, 15, 16, 17})
		wantSample(t, smps[3], "y", []int{1, 2}, []float32{6, 7})
	}
}

// A model whose batch is its second axis ([T, 1, F], a sequence model)
// has a stacked [T, N, F] array split along axis 1, in every form; an
// array of one sample ([T, 1, F], whatever T) is not split.
func TestStackedSamplesSplitAlongTheAxisTheModelDeclaresAsOne(t *testing.T) {
	dir := t.TempDir()
	specs := []dataset.InputSpec{{Name: "x", DType: tensor.Float32, Shape: []int{-1, 1, 2}, DimNames: []string{"time", "", ""}}}
	x := counting(3, 4, 2) // T=3 steps, 4 samples, F=2
	npy := filepath.Join(dir, "stack.npy")
	writeNPY(t, npy, x)
	npz := filepath.Join(dir, "stack.npz")
	writeNPZ(t, npz, map[string]*tensor.Dense{"x.npy": x})
	pb := filepath.Join(dir, "test_data_set_0")
	writePB(t, filepath.Join(pb, "input_0.pb"), "x", x)
	for _, p := range []string{npy, npz, pb} {
		set, smps := loadAll(t, specs, p)
		if len(smps) != 4 {
			t.Fatalf("%s: %d samples, want 4", p, len(smps))
		}
		if got := set.Splits(); len(got) != 1 || got[0].Axes["x"] != 1 {
			t.Errorf("%s: splits %+v, want one along axis 1", p, got)
		}
		// Sample 1 is x[:, 1, :]: elements 2,3 of each of the 3 steps.
		wantSample(t, smps[1], "x", []int{3, 1, 2}, []float32{2, 3, 10, 11, 18, 19})
		if got := set.Shapes()["x"]; !slices.Equal(got, []int{3, 1, 2}) {
			t.Errorf("%s: shape %v, want [3 1 2]", p, got)
		}
	}
	one := filepath.Join(dir, "one.npy")
	writeNPY(t, one, counting(7, 1, 2))
	set, smps := loadAll(t, specs, one)
	if len(smps) != 1 || len(set.Splits()) != 0 {
		t.Errorf("a [7 1 2] sample is split: %d samples, splits %v", len(smps), set.Splits())
	}
	// NHWC with the batch declared 1 on the first axis splits there.
	nhwc := []dataset.InputSpec{{Name: "x", DType: tensor.Float32, Shape: []int{1, 4, 4, 3}}}
	writeNPY(t, filepath.Join(dir, "nhwc.npy"), counting(5, 4, 4, 3))
	if _, smps := loadAll(t, nhwc, filepath.Join(dir, "nhwc.npy")); len(smps) != 5 {
		t.Errorf("NHWC stack: %d samples, want 5", len(smps))
	}
}

// A dynamic dimension named as a batch is the batch axis wherever it is.
func TestStackedSamplesSplitAlongTheDimensionNamedBatch(t *testing.T) {
	p := filepath.Join(t.TempDir(), "stack.npy")
	writeNPY(t, p, counting(3, 2, 2))
	specs := []dataset.InputSpec{{Name: "x", DType: tensor.Float32, Shape: []int{-1, -1, 2}, DimNames: []string{"seq", "batch_size", ""}}}
	set, smps := loadAll(t, specs, p)
	if len(smps) != 2 || set.Splits()[0].Axes["x"] != 1 {
		t.Fatalf("%d samples, splits %+v; want 2 along axis 1", len(smps), set.Splits())
	}
	wantSample(t, smps[1], "x", []int{3, 1, 2}, []float32{2, 3, 6, 7, 10, 11})
}

// An array larger than the model on two axes it declares as 1 could stack
// samples on either: it is refused, naming the sample, the axes and the
// model's shape, rather than split on a guess.
func TestStackedSampleOnTwoAxesDeclaredOneIsRefusedAsAmbiguous(t *testing.T) {
	dir := t.TempDir()
	specs := []dataset.InputSpec{{Name: "x", DType: tensor.Float32, Shape: []int{1, 1, 3}}}
	npy := filepath.Join(dir, "stack.npy")
	writeNPY(t, npy, counting(2, 4, 3))
	npz := filepath.Join(dir, "stack.npz")
	writeNPZ(t, npz, map[string]*tensor.Dense{"x.npy": counting(2, 4, 3)})
	for _, p := range []string{npy, npz} {
		_, err := dataset.OpenSamples([]string{p}, specs, dataset.Options{SplitBatches: true})
		var se *dataset.SampleError
		if !errors.As(err, &se) || !errors.Is(err, dataset.ErrShapeMismatch) {
			t.Fatalf("%s: err %v, want a shape mismatch *SampleError", p, err)
		}
		for _, want := range []string{p, `"x"`, "[2 4 3]", "[1 1 3]", "axes 0 and 1", "ambiguous"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %q lacks %q", p, err, want)
			}
		}
	}
}
