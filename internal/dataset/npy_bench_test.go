package dataset_test

import (
	"math/rand/v2"
	"path/filepath"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/dataset"
)

// BenchmarkReadNPYImage reads one 1x3x224x224 float32 sample, the size of
// an ImageNet calibration input.
func BenchmarkReadNPYImage(b *testing.B) {
	path, _ := writeImageSample(b)
	b.SetBytes(int64(4 * 3 * 224 * 224))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := dataset.ReadNPY(path); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadImage loads one 1x3x224x224 float32 sample through a Set:
// reading plus the checks against the model's input (shape, dtype, finite).
func BenchmarkLoadImage(b *testing.B) {
	path, shape := writeImageSample(b)
	set, err := dataset.Open([]string{path}, []dataset.InputSpec{{Name: "x", DType: tensor.Float32, Shape: shape}})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(4 * 3 * 224 * 224))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := set.Load(0); err != nil {
			b.Fatal(err)
		}
	}
}

// writeImageSample writes one random 1x3x224x224 float32 sample and returns
// its path and shape.
func writeImageSample(b *testing.B) (string, []int) {
	shape := []int{1, 3, 224, 224}
	data := make([]float32, 3*224*224)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = rng.Float32()*4 - 2
	}
	path := filepath.Join(b.TempDir(), "x.npy")
	if err := dataset.WriteNPY(path, tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))); err != nil {
		b.Fatal(err)
	}
	return path, shape
}
