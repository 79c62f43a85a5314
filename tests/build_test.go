package tests

import (
	"os"
	"path/filepath"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/dataset"
)

// writeSamples writes n samples of the given shape into a new folder,
// values from fill(i, j) for sample i, element j.
func writeSamples(t *testing.T, n int, shape []int, fill func(i, j int) float32) string {
	t.Helper()
	dir := t.TempDir()
	size := 1
	for _, d := range shape {
		size *= d
	}
	for i := 0; i < n; i++ {
		data := make([]float32, size)
		for j := range data {
			data[j] = fill(i, j)
		}
		p := filepath.Join(dir, "sample_"+string(rune('a'+i))+".npy")
		if err := dataset.WriteNPY(p, tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// exampleSample copies sample i of the example set and returns its path.
func exampleSample(t *testing.T, dir string, i int) string {
	t.Helper()
	b, err := os.ReadFile(repo("models", "tinynet_calib", "sample_00"+string(rune('0'+i))+".npy"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "sample_00"+string(rune('0'+i))+".npy")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
