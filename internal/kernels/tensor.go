package kernels

import (
	"fmt"

	"gorgonia.org/tensor"
)

// elem is every element type the data-movement kernels carry.
type elem interface {
	float32 | float64 | int64 | int32 | int16 | int8 | uint8 | uint16 | uint32 | uint64 | bool
}

// number is every element type arithmetic and comparison kernels accept.
type number interface {
	float32 | float64 | int64 | int32 | int16 | int8 | uint8 | uint16 | uint32 | uint64
}

// New builds a tensor of the given shape that owns data, a slice of one of the
// supported element types whose length is the product of shape (1 for a scalar, shape nil).
func New(shape []int, data any) (*tensor.Dense, error) {
	n := prod(shape)
	l, err := sliceLen(data)
	if err != nil {
		return nil, err
	}
	if l != n {
		return nil, shapeErr("New", "data has %d elements, shape %v needs %d", l, shape, n)
	}
	if n == 0 {
		dt, _ := dtypeOfSlice(data)
		return Empty(shape, dt), nil
	}
	return tensor.New(tensor.WithShape(append([]int(nil), shape...)...), tensor.WithBacking(data)), nil
}

// NewF32 is New for float32 data.
func NewF32(shape []int, data []float32) (*tensor.Dense, error) { return New(shape, data) }

func sliceLen(data any) (int, error) {
	switch s := data.(type) {
	case []float32:
		return len(s), nil
	case []float64:
		return len(s), nil
	case []int64:
		return len(s), nil
	case []int32:
		return len(s), nil
	case []int16:
		return len(s), nil
	case []int8:
		return len(s), nil
	case []uint8:
		return len(s), nil
	case []uint16:
		return len(s), nil
	case []uint32:
		return len(s), nil
	case []uint64:
		return len(s), nil
	case []bool:
		return len(s), nil
	}
	return 0, dtypeErr("New", data)
}

// Dims returns a copy of d's shape as plain ints (nil for a scalar).
func Dims(d *tensor.Dense) []int {
	if sh, ok := EmptyShape(d); ok {
		return sh
	}
	s := d.Shape()
	if len(s) == 0 {
		return nil
	}
	return append([]int(nil), s...)
}

// Flat returns d's elements as a contiguous slice in row-major order (a
// scalar's element as a one-element slice). It shares memory with d when d
// is already contiguous; callers must not write to it.
func Flat(d *tensor.Dense) any {
	if d.RequiresIterator() {
		if m, ok := d.Materialize().(*tensor.Dense); ok {
			d = m
		}
	}
	v := d.Data()
	n := prod(Dims(d))
	switch s := v.(type) {
	case []float32:
		return s[:n]
	case []float64:
		return s[:n]
	case []int64:
		return s[:n]
	case []int32:
		return s[:n]
	case []int16:
		return s[:n]
	case []int8:
		return s[:n]
	case []uint8:
		return s[:n]
	case []uint16:
		return s[:n]
	case []uint32:
		return s[:n]
	case []uint64:
		return s[:n]
	case []bool:
		return s[:n]
	case float32:
		return []float32{s}
	case float64:
		return []float64{s}
	case int64:
		return []int64{s}
	case int32:
		return []int32{s}
	case int16:
		return []int16{s}
	case int8:
		return []int8{s}
	case uint8:
		return []uint8{s}
	case uint16:
		return []uint16{s}
	case uint32:
		return []uint32{s}
	case uint64:
		return []uint64{s}
	case bool:
		return []bool{s}
	}
	return v
}

// Float32s returns d's float32 elements (shared with d when contiguous; read only).
func Float32s(d *tensor.Dense) ([]float32, error) {
	if d == nil {
		return nil, fmt.Errorf("missing float32 tensor")
	}
	s, ok := Flat(d).([]float32)
	if !ok {
		return nil, fmt.Errorf("want float32, got %v: %w", d.Dtype(), ErrDtype)
	}
	return s, nil
}

// f32in fetches a float32 operand with its shape, naming the op in errors.
func f32in(op string, d *tensor.Dense) ([]float32, []int, error) {
	if d == nil {
		return nil, nil, shapeErr(op, "missing input")
	}
	s, ok := Flat(d).([]float32)
	if !ok {
		return nil, nil, fmt.Errorf("%s: want float32, got %v: %w", op, d.Dtype(), ErrDtype)
	}
	return s, Dims(d), nil
}

// Ints reads an integer tensor (int64, int32, int16, int8, uint8) as ints; used
// for shape-like inputs such as Reshape's shape or Slice's starts.
func Ints(d *tensor.Dense) ([]int, error) {
	if d == nil {
		return nil, nil
	}
	switch s := Flat(d).(type) {
	case []int64:
		return toInts(s), nil
	case []int32:
		return toInts(s), nil
	case []int16:
		return toInts(s), nil
	case []int8:
		return toInts(s), nil
	case []uint8:
		return toInts(s), nil
	case []uint64:
		return toInts(s), nil
	}
	return nil, fmt.Errorf("want an integer tensor, got %v: %w", d.Dtype(), ErrDtype)
}

func toInts[T int64 | int32 | int16 | int8 | uint8 | uint64](s []T) []int {
	r := make([]int, len(s))
	for i, v := range s {
		r[i] = int(v)
	}
	return r
}

func prod(s []int) int {
	n := 1
	for _, v := range s {
		n *= v
	}
	return n
}

func strides(shape []int) []int {
	st := make([]int, len(shape))
	acc := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = acc
		acc *= shape[i]
	}
	return st
}

// normAxis maps a possibly negative axis into [0, rank).
func normAxis(op string, axis, rank int) (int, error) {
	if axis < -rank || axis >= rank {
		return 0, shapeErr(op, "axis %d out of range for rank %d", axis, rank)
	}
	if axis < 0 {
		axis += rank
	}
	return axis, nil
}

// makeLike allocates a zeroed slice of n elements of src's element type.
func makeLike(src any, n int) any {
	switch src.(type) {
	case []float32:
		return make([]float32, n)
	case []float64:
		return make([]float64, n)
	case []int64:
		return make([]int64, n)
	case []int32:
		return make([]int32, n)
	case []int16:
		return make([]int16, n)
	case []int8:
		return make([]int8, n)
	case []uint8:
		return make([]uint8, n)
	case []uint16:
		return make([]uint16, n)
	case []uint32:
		return make([]uint32, n)
	case []uint64:
		return make([]uint64, n)
	case []bool:
		return make([]bool, n)
	}
	return nil
}

func takeT[T elem](src []T, idx []int) []T {
	out := make([]T, len(idx))
	for i, j := range idx {
		out[i] = src[j]
	}
	return out
}

// take builds a new slice with out[i] = src[idx[i]]: the common core of the
// data-movement kernels, which only differ in how they compute idx.
func take(op string, src any, idx []int) (any, error) {
	switch s := src.(type) {
	case []float32:
		return takeT(s, idx), nil
	case []float64:
		return takeT(s, idx), nil
	case []int64:
		return takeT(s, idx), nil
	case []int32:
		return takeT(s, idx), nil
	case []int16:
		return takeT(s, idx), nil
	case []int8:
		return takeT(s, idx), nil
	case []uint8:
		return takeT(s, idx), nil
	case []uint16:
		return takeT(s, idx), nil
	case []uint32:
		return takeT(s, idx), nil
	case []uint64:
		return takeT(s, idx), nil
	case []bool:
		return takeT(s, idx), nil
	}
	return nil, dtypeErr(op, src)
}

// copyAt copies n elements src[so:] into dst[do:]; dst and src share a type.
func copyAt(dst any, do int, src any, so, n int) {
	switch d := dst.(type) {
	case []float32:
		copy(d[do:do+n], src.([]float32)[so:so+n])
	case []float64:
		copy(d[do:do+n], src.([]float64)[so:so+n])
	case []int64:
		copy(d[do:do+n], src.([]int64)[so:so+n])
	case []int32:
		copy(d[do:do+n], src.([]int32)[so:so+n])
	case []int16:
		copy(d[do:do+n], src.([]int16)[so:so+n])
	case []int8:
		copy(d[do:do+n], src.([]int8)[so:so+n])
	case []uint8:
		copy(d[do:do+n], src.([]uint8)[so:so+n])
	case []uint16:
		copy(d[do:do+n], src.([]uint16)[so:so+n])
	case []uint32:
		copy(d[do:do+n], src.([]uint32)[so:so+n])
	case []uint64:
		copy(d[do:do+n], src.([]uint64)[so:so+n])
	case []bool:
		copy(d[do:do+n], src.([]bool)[so:so+n])
	}
}

func cloneSlice(src any) any {
	n, _ := sliceLen(src)
	dst := makeLike(src, n)
	copyAt(dst, 0, src, 0, n)
	return dst
}
