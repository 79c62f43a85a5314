package onnxio

import (
	"errors"
	"fmt"
	"math"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// Default budgets. Ethos-U models are far below them (the NPU's SRAM is a
// few MB); they exist so a hostile file fails with an error instead of
// exhausting memory or time.
const (
	DefaultMaxTensorBytes int64 = 2 << 30
	DefaultMaxLoopTrips   int64 = 1_000_000
)

// Limits bound what one model may make the tool allocate or repeat. Zero
// fields mean the defaults.
type Limits struct {
	// MaxTensorBytes caps the size of any one tensor the tool materializes
	// (initializers, folded constants, interpreter values, samples).
	MaxTensorBytes int64
	// MaxLoopTrips caps the iterations of one Loop execution.
	MaxLoopTrips int64
}

// WithDefaults fills zero fields with the default budgets.
func (l Limits) WithDefaults() Limits {
	if l.MaxTensorBytes <= 0 {
		l.MaxTensorBytes = DefaultMaxTensorBytes
	}
	if l.MaxLoopTrips <= 0 {
		l.MaxLoopTrips = DefaultMaxLoopTrips
	}
	return l
}

// ErrLimit is wrapped by every error that reports a size the input asked
// for and the tool refused: a negative or overflowing shape, or a tensor or
// loop over its budget.
var ErrLimit = errors.New("size limit")

// LimitError is a refused size. Flag names the command-line option that
// raises the budget ("" for shapes that are invalid at any budget).
type LimitError struct {
	Shape  []int64
	Bytes  int64
	Budget int64
	Flag   string
	Reason string
}

func (e *LimitError) Error() string {
	if e.Flag == "" {
		return fmt.Sprintf("shape %v: %s", e.Shape, e.Reason)
	}
	return fmt.Sprintf("%s, over the %s budget of %d", e.Reason, e.Flag, e.Budget)
}

func (e *LimitError) Unwrap() error { return ErrLimit }

// ElemCount is the number of elements of a tensor with the given dims,
// refusing negative dims and products that overflow int64. Every reader
// and kernel that sizes an allocation from input data goes through it.
func ElemCount(dims []int64) (int64, error) {
	n := int64(1)
	zero := false
	for _, d := range dims {
		if d < 0 {
			return 0, &LimitError{Shape: dims, Reason: fmt.Sprintf("negative dimension %d", d)}
		}
		if d == 0 {
			zero = true
			continue
		}
		if n > math.MaxInt64/d {
			return 0, &LimitError{Shape: dims, Reason: "element count overflows int64"}
		}
		n *= d
	}
	if zero {
		return 0, nil
	}
	return n, nil
}

// ElemCountInts is ElemCount for int dims.
func ElemCountInts(dims []int) (int64, error) {
	d64 := make([]int64, len(dims))
	for i, d := range dims {
		d64[i] = int64(d)
	}
	return ElemCount(d64)
}

// ElemBytes is the storage size of one element of an ONNX data type in
// bytes, rounded up (1 for sub-byte types, 8 for unknown types so budgets
// err on the safe side).
func ElemBytes(dt int32) int64 {
	bits := elemBits(dt)
	if bits == 0 {
		return 8
	}
	return int64((bits + 7) / 8)
}

// CheckTensor refuses a tensor of the given dims and element size (bytes)
// that is invalid or larger than the tensor budget.
func (l Limits) CheckTensor(dims []int64, elemBytes int64) error {
	l = l.WithDefaults()
	n, err := ElemCount(dims)
	if err != nil {
		return err
	}
	if elemBytes < 1 {
		elemBytes = 1
	}
	if n > math.MaxInt64/elemBytes || n*elemBytes > l.MaxTensorBytes {
		bytes := int64(math.MaxInt64)
		if n <= math.MaxInt64/elemBytes {
			bytes = n * elemBytes
		}
		return &LimitError{Shape: dims, Bytes: bytes, Budget: l.MaxTensorBytes, Flag: "--max-tensor-bytes",
			Reason: fmt.Sprintf("shape %v needs %d bytes", dims, bytes)}
	}
	return nil
}

// CheckTrips refuses a loop trip count over the budget.
func (l Limits) CheckTrips(trips int64) error {
	l = l.WithDefaults()
	if trips > l.MaxLoopTrips {
		return &LimitError{Budget: l.MaxLoopTrips, Flag: "--max-loop-trips",
			Reason: fmt.Sprintf("trip count %d", trips)}
	}
	return nil
}

// RangeLen is the element count of ONNX Range(start, limit, delta) on
// integers, computed without overflow (the textbook formula wraps for
// bounds near the ends of int64); ok is false when it exceeds MaxInt64.
func RangeLen(start, limit, delta int64) (n int64, ok bool) {
	var span, step uint64
	switch {
	case delta > 0 && limit > start:
		span, step = uint64(limit)-uint64(start), uint64(delta)
	case delta < 0 && limit < start:
		span, step = uint64(start)-uint64(limit), uint64(-(delta+1))+1
	default:
		return 0, true
	}
	c := span / step
	if span%step != 0 {
		c++
	}
	if c > math.MaxInt64 {
		return 0, false
	}
	return int64(c), true
}

// checkDeclaredSize checks the byte range an external tensor refers to
// against the tensor's own dims and type, before it is read: a range
// without a length would otherwise take the rest of a (possibly huge,
// sparse) file, and a tensor's declared size is what the tool allocates.
func checkDeclaredSize(t *onnxpb.TensorProto, ref extRef, length int64, lim Limits) error {
	n, err := ElemCount(t.GetDims())
	if err != nil {
		return err
	}
	if elemBits(t.GetDataType()) == 0 {
		return lim.CheckTensor([]int64{length}, 1)
	}
	if err := lim.CheckTensor(t.GetDims(), ElemBytes(t.GetDataType())); err != nil {
		return err
	}
	if want := rawSize(t.GetDataType(), n); length != want {
		what := "the range"
		if ref.length < 0 {
			what = "the rest of the file (no length given)"
		}
		return fmt.Errorf("%s is %d bytes at offset %d, but %s %v needs %d", what, length, ref.offset, DataTypeName(t.GetDataType()), t.GetDims(), want)
	}
	return nil
}
