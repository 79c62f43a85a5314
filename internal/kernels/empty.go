package kernels

import (
	"github.com/onnxquant/onnxquant/internal/onnxdense"
	"gorgonia.org/tensor"
)

// Empty returns a tensor of the given shape, which has a zero dimension, and
// element type: a placeholder Dense that records the real shape (see
// onnxdense.EmptyDense). Dims, Flat and New understand it, so kernels written
// over them handle empty operands without special cases.
func Empty(shape []int, dt tensor.Dtype) *tensor.Dense { return onnxdense.EmptyDense(shape, dt) }

// EmptyShape reports whether d is an empty tensor and, if so, its shape.
func EmptyShape(d *tensor.Dense) ([]int, bool) { return onnxdense.EmptyShape(d) }

// IsEmpty reports whether d has no elements.
func IsEmpty(d *tensor.Dense) bool {
	_, ok := EmptyShape(d)
	return ok
}

// NumElems is d's element count (0 for an empty tensor).
func NumElems(d *tensor.Dense) int {
	if IsEmpty(d) {
		return 0
	}
	return d.Shape().TotalSize()
}

// dtypeOfSlice is the element type of a backing slice.
func dtypeOfSlice(data any) (tensor.Dtype, bool) {
	switch data.(type) {
	case []float32:
		return tensor.Float32, true
	case []float64:
		return tensor.Float64, true
	case []int64:
		return tensor.Int64, true
	case []int32:
		return tensor.Int32, true
	case []int16:
		return tensor.Int16, true
	case []int8:
		return tensor.Int8, true
	case []uint8:
		return tensor.Uint8, true
	case []uint16:
		return tensor.Uint16, true
	case []uint32:
		return tensor.Uint32, true
	case []uint64:
		return tensor.Uint64, true
	case []bool:
		return tensor.Bool, true
	}
	return tensor.Dtype{}, false
}
