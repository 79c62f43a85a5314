package dataset

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"

	"gorgonia.org/tensor"
)

// elemSize returns the size in bytes of one element of the dtypes the package
// reads and writes, or 0 for any other dtype.
func elemSize(dt tensor.Dtype) int {
	switch dt {
	case tensor.Int8, tensor.Uint8, tensor.Bool:
		return 1
	case tensor.Int16, tensor.Uint16:
		return 2
	case tensor.Float32, tensor.Int32, tensor.Uint32:
		return 4
	case tensor.Float64, tensor.Int64, tensor.Uint64:
		return 8
	}
	return 0
}

// makeSlice returns a zeroed []T of n elements for dtype dt.
func makeSlice(dt tensor.Dtype, n int) (any, error) {
	switch dt {
	case tensor.Float32:
		return make([]float32, n), nil
	case tensor.Float64:
		return make([]float64, n), nil
	case tensor.Int8:
		return make([]int8, n), nil
	case tensor.Int16:
		return make([]int16, n), nil
	case tensor.Int32:
		return make([]int32, n), nil
	case tensor.Int64:
		return make([]int64, n), nil
	case tensor.Uint8:
		return make([]uint8, n), nil
	case tensor.Uint16:
		return make([]uint16, n), nil
	case tensor.Uint32:
		return make([]uint32, n), nil
	case tensor.Uint64:
		return make([]uint64, n), nil
	case tensor.Bool:
		return make([]bool, n), nil
	}
	return nil, fmt.Errorf("unsupported dtype %v", dt)
}

// numElements is the product of shape; 1 for a scalar (empty shape).
func numElements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// newDense wraps backing (a []T) into a Dense of the given shape. An empty
// shape gives a 0-d Dense, which gorgonia represents with shape () and a
// one-element backing. gorgonia cannot hold tensors with a zero dimension, so
// those are an error here rather than a panic later.
func newDense(shape []int, backing any) (*tensor.Dense, error) {
	for _, d := range shape {
		if d <= 0 {
			return nil, fmt.Errorf("shape %v has a zero or negative dimension, which is not supported", shape)
		}
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(backing)), nil
}

// decodeDense reads numElements(shape) elements of dtype dt from raw, which
// holds them in the given byte order, into a new Dense.
func decodeDense(dt tensor.Dtype, shape []int, raw []byte, order binary.ByteOrder) (*tensor.Dense, error) {
	size := elemSize(dt)
	if size == 0 {
		return nil, fmt.Errorf("unsupported dtype %v", dt)
	}
	n := numElements(shape)
	if len(raw) != n*size {
		return nil, fmt.Errorf("shape %v of %v needs %d bytes of data, found %d", shape, dt, n*size, len(raw))
	}
	data, err := makeSlice(dt, n)
	if err != nil {
		return nil, err
	}
	if err := binary.Read(bytes.NewReader(raw), order, data); err != nil {
		return nil, fmt.Errorf("decoding %v data: %w", dt, err)
	}
	return newDense(shape, data)
}

// backing returns the elements of d in row-major order as a []T. A 0-d Dense
// gives a one-element slice (gorgonia's Data() returns the bare value for
// those). The slice may share memory with d.
func backing(d *tensor.Dense) (any, error) {
	if d.IsView() {
		m, ok := d.Materialize().(*tensor.Dense)
		if !ok {
			return nil, fmt.Errorf("cannot materialize a view of %v", d.Dtype())
		}
		d = m
	}
	if !d.IsScalar() {
		return d.Data(), nil
	}
	switch v := d.Data().(type) {
	case float32:
		return []float32{v}, nil
	case float64:
		return []float64{v}, nil
	case int8:
		return []int8{v}, nil
	case int16:
		return []int16{v}, nil
	case int32:
		return []int32{v}, nil
	case int64:
		return []int64{v}, nil
	case uint8:
		return []uint8{v}, nil
	case uint16:
		return []uint16{v}, nil
	case uint32:
		return []uint32{v}, nil
	case uint64:
		return []uint64{v}, nil
	case bool:
		return []bool{v}, nil
	}
	return nil, fmt.Errorf("unsupported dtype %v", d.Dtype())
}

// firstNonFinite returns the index and value of the first NaN or ±Inf in d,
// or -1 when every value is finite (always for integer dtypes).
func firstNonFinite(d *tensor.Dense) (int, float64) {
	data, err := backing(d)
	if err != nil {
		return -1, 0
	}
	switch v := data.(type) {
	case []float32:
		for i, x := range v {
			if f := float64(x); math.IsNaN(f) || math.IsInf(f, 0) {
				return i, f
			}
		}
	case []float64:
		for i, x := range v {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return i, x
			}
		}
	}
	return -1, 0
}
