package dataset_test

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/dataset"
)

// stacked writes one .npy holding n samples of shape [1,2,3] stacked on
// the first axis, sample i filled with i*100+j.
func stacked(t *testing.T, dir string, n int) string {
	t.Helper()
	data := make([]float32, n*6)
	for i := range n {
		for j := range 6 {
			data[i*6+j] = float32(i*100 + j)
		}
	}
	p := filepath.Join(dir, "stack.npy")
	writeNPY(t, p, dense([]int{n, 2, 3}, data...))
	return p
}

func TestStackedFileIsSplitAlongTheBatchForBatchOneAndDynamicBatch(t *testing.T) {
	p := stacked(t, t.TempDir(), 4)
	for _, batch := range []int{1, -1} {
		set, err := dataset.OpenSamples([]string{p}, image("x", batch, 2, 3), dataset.Options{SplitBatches: true, SameShapes: true})
		if err != nil {
			t.Fatal(err)
		}
		if set.Len() != 4 {
			t.Fatalf("batch %d: %d samples, want 4", batch, set.Len())
		}
		if got := set.Splits(); len(got) != 1 || got[0].Path != p || got[0].Count != 4 {
			t.Errorf("splits %v", got)
		}
		if got := set.Shapes()["x"]; !slices.Equal(got, []int{1, 2, 3}) {
			t.Errorf("shapes %v", got)
		}
		smp, err := set.Load(2)
		if err != nil {
			t.Fatal(err)
		}
		if want := p + "[2]"; smp.Name != want {
			t.Errorf("name %q, want %q", smp.Name, want)
		}
		got := smp.Inputs["x"].Data().([]float32)
		if !slices.Equal(got, []float32{200, 201, 202, 203, 204, 205}) || !slices.Equal([]int(smp.Inputs["x"].Shape()), []int{1, 2, 3}) {
			t.Errorf("sample 2: %v %v", smp.Inputs["x"].Shape(), got)
		}
	}
}

func TestStackedFileIsWholeWhenTheBatchIsFixedAtItsSize(t *testing.T) {
	p := stacked(t, t.TempDir(), 4)
	set, err := dataset.OpenSamples([]string{p}, image("x", 4, 2, 3), dataset.Options{SplitBatches: true, SameShapes: true})
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != 1 || len(set.Splits()) != 0 {
		t.Fatalf("%d samples, splits %v", set.Len(), set.Splits())
	}
}

func TestSamplesOfDifferentShapesAreAnErrorNamingBoth(t *testing.T) {
	dir := t.TempDir()
	writeNPY(t, filepath.Join(dir, "a.npy"), zeros(1, 3, 8, 8))
	writeNPY(t, filepath.Join(dir, "b.npy"), zeros(1, 3, 16, 16))
	specs := image("x", 1, 3, -1, -1)
	_, err := dataset.OpenSamples([]string{dir}, specs, dataset.Options{SameShapes: true})
	if !errors.Is(err, dataset.ErrShapeMismatch) {
		t.Fatalf("error %v, want a shape mismatch", err)
	}
	for _, want := range []string{"b.npy", "a.npy", "[1 3 16 16]", "[1 3 8 8]", "--input-shape x="} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	// Without SameShapes (models whose paths depend on the size) they load.
	set, err := dataset.OpenSamples([]string{dir}, specs, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if set.Shapes()["x"] != nil {
		t.Errorf("mixed shapes reported as %v", set.Shapes()["x"])
	}
}

func TestStackedFolderOfSeveralInputsIsSplitWhenAllStackAlike(t *testing.T) {
	dir := t.TempDir()
	specs := []dataset.InputSpec{
		{Name: "image", DType: tensor.Float32, Shape: []int{-1, 2, 3}, DimNames: []string{"batch", "", ""}},
		{Name: "scale", DType: tensor.Float32, Shape: []int{-1, 1}, DimNames: []string{"batch", ""}},
	}
	img := make([]float32, 3*6)
	for i := range img {
		img[i] = float32(i)
	}
	writeNPY(t, filepath.Join(dir, "s", "image.npy"), dense([]int{3, 2, 3}, img...))
	writeNPY(t, filepath.Join(dir, "s", "scale.npy"), dense([]int{3, 1}, float32(10), 20, 30))
	set, err := dataset.OpenSamples([]string{filepath.Join(dir, "s")}, specs, dataset.Options{SplitBatches: true, SameShapes: true})
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != 3 {
		t.Fatalf("%d samples, want 3", set.Len())
	}
	smp, err := set.Load(1)
	if err != nil {
		t.Fatal(err)
	}
	if got := smp.Inputs["image"].Data().([]float32); !slices.Equal(got, []float32{6, 7, 8, 9, 10, 11}) {
		t.Errorf("image of sample 1: %v", got)
	}
	if got := smp.Inputs["scale"].Data().([]float32); !slices.Equal(got, []float32{20}) {
		t.Errorf("scale of sample 1: %v", got)
	}
	// Inputs that stack different counts are not split (Load then binds
	// or refuses them as they are).
	writeNPY(t, filepath.Join(dir, "s", "scale.npy"), dense([]int{2, 1}, float32(10), 20))
	set, err = dataset.OpenSamples([]string{filepath.Join(dir, "s")}, specs, dataset.Options{SplitBatches: true})
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != 1 {
		t.Errorf("%d samples, want the folder whole", set.Len())
	}
}
