package dataset

import (
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
	// NaN and ±Inf are exactly the values whose exponent bits are all ones;
	// testing the bits avoids a conversion and two calls per element.
	case []float32:
		for i, x := range v {
			if math.Float32bits(x)&0x7f800000 == 0x7f800000 {
				return i, float64(x)
			}
		}
	case []float64:
		for i, x := range v {
			if math.Float64bits(x)&0x7ff0000000000000 == 0x7ff0000000000000 {
				return i, x
			}
		}
	}
	return -1, 0
}
