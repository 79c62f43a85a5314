package kernels

import (
	"fmt"
	"math"

	"gorgonia.org/tensor"
)

// Element-wise arithmetic kernels beyond the basic binary ops: Mod, BitShift,
// PRelu, and the generic float and classification maps.

// bcast2 applies f to a and b broadcast together.
func bcast2[T, U any](a, b []T, as, bs, os []int, f func(T, T) U) []U {
	out := make([]U, prod(os))
	bcastRuns(os, [][]int{as, bs}, func(o int, offs []int, n int, steps []int) {
		ia, ib := offs[0], offs[1]
		for i := 0; i < n; i++ {
			out[o+i] = f(a[ia], b[ib])
			ia += steps[0]
			ib += steps[1]
		}
	})
	return out
}

func modInt[T int64 | int32 | int16 | int8](fmod bool) func(a, b T) T {
	return func(a, b T) T {
		if b == 0 {
			return 0
		}
		r := a % b
		if !fmod && r != 0 && (r < 0) != (b < 0) {
			r += b
		}
		return r
	}
}

func modUint[T uint8 | uint16 | uint32 | uint64](a, b T) T {
	if b == 0 {
		return 0
	}
	return a % b
}

func modFloat[T float32 | float64](fmod bool) func(a, b T) T {
	return func(a, b T) T {
		r := T(math.Mod(float64(a), float64(b)))
		if !fmod && r != 0 && (r < 0) != (b < 0) {
			r += b
		}
		return r
	}
}

// Mod is ONNX Mod: with fmod the remainder takes the dividend's sign (C
// fmod), otherwise the divisor's (Python %). Integer division by zero gives 0.
func Mod(a, b *tensor.Dense, fmod bool) (*tensor.Dense, error) {
	const op = "Mod"
	if a == nil || b == nil {
		return nil, shapeErr(op, "missing input")
	}
	as, bs := Dims(a), Dims(b)
	os, err := BroadcastShape(op, as, bs)
	if err != nil {
		return nil, err
	}
	var out any
	switch x := Flat(a).(type) {
	case []float32:
		out, err = withB(op, x, Flat(b), func(y []float32) any { return bcast2(x, y, as, bs, os, modFloat[float32](fmod)) })
	case []float64:
		out, err = withB(op, x, Flat(b), func(y []float64) any { return bcast2(x, y, as, bs, os, modFloat[float64](fmod)) })
	case []int64:
		out, err = withB(op, x, Flat(b), func(y []int64) any { return bcast2(x, y, as, bs, os, modInt[int64](fmod)) })
	case []int32:
		out, err = withB(op, x, Flat(b), func(y []int32) any { return bcast2(x, y, as, bs, os, modInt[int32](fmod)) })
	case []int16:
		out, err = withB(op, x, Flat(b), func(y []int16) any { return bcast2(x, y, as, bs, os, modInt[int16](fmod)) })
	case []int8:
		out, err = withB(op, x, Flat(b), func(y []int8) any { return bcast2(x, y, as, bs, os, modInt[int8](fmod)) })
	case []uint8:
		out, err = withB(op, x, Flat(b), func(y []uint8) any { return bcast2(x, y, as, bs, os, modUint[uint8]) })
	case []uint16:
		out, err = withB(op, x, Flat(b), func(y []uint16) any { return bcast2(x, y, as, bs, os, modUint[uint16]) })
	case []uint32:
		out, err = withB(op, x, Flat(b), func(y []uint32) any { return bcast2(x, y, as, bs, os, modUint[uint32]) })
	case []uint64:
		out, err = withB(op, x, Flat(b), func(y []uint64) any { return bcast2(x, y, as, bs, os, modUint[uint64]) })
	default:
		return nil, dtypeErr(op, x)
	}
	if err != nil {
		return nil, err
	}
	return New(os, out)
}

// withB checks that b has a's element type and runs f on it.
func withB[T any](op string, _ []T, b any, f func([]T) any) (any, error) {
	y, ok := b.([]T)
	if !ok {
		return nil, fmt.Errorf("%s: operands of different types (%T): %w", op, b, ErrDtype)
	}
	return f(y), nil
}

func shiftT[T uint8 | uint16 | uint32 | uint64](left bool) func(a, b T) T {
	return func(a, b T) T {
		if left {
			return a << b
		}
		return a >> b
	}
}

// BitShift is ONNX BitShift on unsigned integers.
func BitShift(a, b *tensor.Dense, left bool) (*tensor.Dense, error) {
	const op = "BitShift"
	if a == nil || b == nil {
		return nil, shapeErr(op, "missing input")
	}
	as, bs := Dims(a), Dims(b)
	os, err := BroadcastShape(op, as, bs)
	if err != nil {
		return nil, err
	}
	var out any
	switch x := Flat(a).(type) {
	case []uint8:
		out, err = withB(op, x, Flat(b), func(y []uint8) any { return bcast2(x, y, as, bs, os, shiftT[uint8](left)) })
	case []uint16:
		out, err = withB(op, x, Flat(b), func(y []uint16) any { return bcast2(x, y, as, bs, os, shiftT[uint16](left)) })
	case []uint32:
		out, err = withB(op, x, Flat(b), func(y []uint32) any { return bcast2(x, y, as, bs, os, shiftT[uint32](left)) })
	case []uint64:
		out, err = withB(op, x, Flat(b), func(y []uint64) any { return bcast2(x, y, as, bs, os, shiftT[uint64](left)) })
	default:
		return nil, dtypeErr(op, x)
	}
	if err != nil {
		return nil, err
	}
	return New(os, out)
}

// PRelu is ONNX PRelu: x where x >= 0, slope*x elsewhere, slope broadcast to x.
func PRelu(x, slope *tensor.Dense) (*tensor.Dense, error) {
	const op = "PRelu"
	xs, xsh, err := f32in(op, x)
	if err != nil {
		return nil, err
	}
	ss, ssh, err := f32in(op, slope)
	if err != nil {
		return nil, err
	}
	os, err := BroadcastShape(op, xsh, ssh)
	if err != nil {
		return nil, err
	}
	return New(os, bcast2(xs, ss, xsh, ssh, os, func(v, s float32) float32 {
		if v < 0 {
			return s * v
		}
		return v
	}))
}

// Float32Map applies f (computed in float64) to a float32 tensor; op names
// the operator in errors. It is the way to add a transcendental op without
// a dedicated kernel.
func Float32Map(op string, x *tensor.Dense, f func(float64) float64) (*tensor.Dense, error) {
	return mapF32(op, x, f)
}

// Classify returns a bool tensor with f applied to each float32 (or float64) element.
func Classify(op string, x *tensor.Dense, f func(float64) bool) (*tensor.Dense, error) {
	switch s := Flat(x).(type) {
	case []float32:
		out := make([]bool, len(s))
		for i, v := range s {
			out[i] = f(float64(v))
		}
		return New(Dims(x), out)
	case []float64:
		out := make([]bool, len(s))
		for i, v := range s {
			out[i] = f(v)
		}
		return New(Dims(x), out)
	}
	return nil, dtypeErr(op, Flat(x))
}
