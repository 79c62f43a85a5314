package onnxquant

import (
	"fmt"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/calib"
	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/lower"
)

// Tensor is one model input of a sample: its shape and row-major data.
// Float32 holds float inputs; Int64 holds integer ones (a sample rate, a
// token id), and exactly one of the two is set.
type Tensor struct {
	Shape   []int
	Float32 []float32
	Int64   []int64
}

// SampleSource gives calibration samples from memory, like ONNX Runtime's
// CalibrationDataReader or TFLite's representative dataset, but by index:
// calibration runs samples on several workers and passes over them more
// than once (sizing tensors, then observing), so a one-shot iterator would
// not do.
type SampleSource interface {
	// Len is the number of samples.
	Len() int
	// Sample returns sample i's tensors by model input name.
	Sample(i int) (map[string]Tensor, error)
}

// Samples is a SampleSource over a slice.
type Samples []map[string]Tensor

// Len implements SampleSource.
func (s Samples) Len() int { return len(s) }

// Sample implements SampleSource.
func (s Samples) Sample(i int) (map[string]Tensor, error) { return s[i], nil }

// memorySet wraps a SampleSource as the calibrator's data set; samples
// are checked against the model's inputs as files are.
func memorySet(gm *lower.GraphModule, src SampleSource) (*dataset.Set, error) {
	return dataset.FromFunc(calib.InputSpecs(gm), src.Len(),
		func(i int) string { return fmt.Sprintf("sample %d", i) },
		func(i int) (map[string]*tensor.Dense, error) {
			smp, err := src.Sample(i)
			if err != nil {
				return nil, err
			}
			out := make(map[string]*tensor.Dense, len(smp))
			for name, t := range smp {
				d, err := t.dense()
				if err != nil {
					return nil, fmt.Errorf("input %q: %w", name, err)
				}
				out[name] = d
			}
			return out, nil
		})
}

func (t Tensor) dense() (*tensor.Dense, error) {
	n := 1
	for _, d := range t.Shape {
		if d < 1 {
			return nil, fmt.Errorf("shape %v has a dimension below 1", t.Shape)
		}
		n *= d
	}
	var backing any
	switch {
	case t.Float32 != nil && t.Int64 != nil:
		return nil, fmt.Errorf("both Float32 and Int64 data are set")
	case t.Float32 != nil:
		if len(t.Float32) != n {
			return nil, fmt.Errorf("shape %v needs %d values, Float32 holds %d", t.Shape, n, len(t.Float32))
		}
		backing = t.Float32
	case t.Int64 != nil:
		if len(t.Int64) != n {
			return nil, fmt.Errorf("shape %v needs %d values, Int64 holds %d", t.Shape, n, len(t.Int64))
		}
		backing = t.Int64
	default:
		return nil, fmt.Errorf("no data")
	}
	if len(t.Shape) == 0 {
		return tensor.New(tensor.FromScalar(scalarOf(backing))), nil
	}
	return tensor.New(tensor.WithShape(t.Shape...), tensor.WithBacking(backing)), nil
}

func scalarOf(backing any) any {
	switch b := backing.(type) {
	case []float32:
		return b[0]
	case []int64:
		return b[0]
	}
	return nil
}
