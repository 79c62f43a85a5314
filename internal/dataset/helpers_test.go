package dataset_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/dataset"
)

func dense[T any](shape []int, data ...T) *tensor.Dense {
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
}

func zeros(shape ...int) *tensor.Dense {
	return tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(shape...))
}

func writeNPY(t *testing.T, path string, d *tensor.Dense) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := dataset.WriteNPY(path, d); err != nil {
		t.Fatal(err)
	}
}

func open(t *testing.T, specs []dataset.InputSpec, paths ...string) *dataset.Set {
	t.Helper()
	set, err := dataset.Open(paths, specs)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// loadErr loads sample 0, expects a *SampleError of the given kind and
// returns it.
func loadErr(t *testing.T, set *dataset.Set, kind error) *dataset.SampleError {
	t.Helper()
	_, err := set.Load(0)
	if err == nil {
		t.Fatalf("Load succeeded, want %v", kind)
	}
	if !errors.Is(err, kind) {
		t.Fatalf("error %q is not %v", err, kind)
	}
	var se *dataset.SampleError
	if !errors.As(err, &se) {
		t.Fatalf("error %q is not a *SampleError", err)
	}
	return se
}
