package onnxquant

import (
	"github.com/onnxquant/onnxquant/calib/sample"
	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/lower"
)

// Tensor is one model input of a sample: its shape and row-major data.
// Float32 holds float inputs; Int64 holds integer ones (a sample rate, a
// token id), and exactly one of the two is set. It is package sample's
// Tensor, which the ethosu, quantize and calib APIs take as well.
type Tensor = sample.Tensor

// SampleSource gives calibration samples from memory, like ONNX Runtime's
// CalibrationDataReader or TFLite's representative dataset, but by index:
// calibration runs samples on several workers and passes over them more
// than once (sizing tensors, then observing), so a one-shot iterator would
// not do. A source that also has Name(i int) string (sample.Namer) has
// its samples named by it in messages.
type SampleSource = sample.Source

// Samples is a SampleSource over a slice.
type Samples = sample.List

// memorySet wraps a SampleSource as the calibrator's data set; samples
// are checked against the model's inputs as files are.
func memorySet(gm *lower.GraphModule, src SampleSource) (*dataset.Set, error) {
	return dataset.Of(src, dataset.InputSpecs(gm))
}
