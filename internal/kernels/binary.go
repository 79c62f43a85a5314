package kernels

import (
	"fmt"
	"math"

	"gorgonia.org/tensor"
)

type arith int

const (
	opAdd arith = iota
	opSub
	opMul
	opDiv
	opPow
	opMax
	opMin
)

var arithNames = [...]string{"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min"}

// Add returns a+b with multidirectional broadcasting; a and b share a numeric dtype.
func Add(a, b *tensor.Dense) (*tensor.Dense, error) { return binaryOp(opAdd, a, b) }

// AddWith is Add writing a float32 result into a buffer from alloc.
func AddWith(alloc Alloc, a, b *tensor.Dense) (*tensor.Dense, error) {
	return binaryOpWith(alloc, opAdd, a, b)
}

// MulWith is Mul writing a float32 result into a buffer from alloc.
func MulWith(alloc Alloc, a, b *tensor.Dense) (*tensor.Dense, error) {
	return binaryOpWith(alloc, opMul, a, b)
}

// SubWith is Sub writing a float32 result into a buffer from alloc.
func SubWith(alloc Alloc, a, b *tensor.Dense) (*tensor.Dense, error) {
	return binaryOpWith(alloc, opSub, a, b)
}

// DivWith is Div writing a float32 result into a buffer from alloc.
func DivWith(alloc Alloc, a, b *tensor.Dense) (*tensor.Dense, error) {
	return binaryOpWith(alloc, opDiv, a, b)
}

// Sub returns a-b with broadcasting.
func Sub(a, b *tensor.Dense) (*tensor.Dense, error) { return binaryOp(opSub, a, b) }

// Mul returns a*b with broadcasting.
func Mul(a, b *tensor.Dense) (*tensor.Dense, error) { return binaryOp(opMul, a, b) }

// Div returns a/b with broadcasting; integer division truncates toward zero and
// an integer division by zero is an error.
func Div(a, b *tensor.Dense) (*tensor.Dense, error) { return binaryOp(opDiv, a, b) }

// Pow returns a**b with broadcasting. The result has a's dtype; b may be any
// numeric dtype (ONNX Pow allows a different exponent type since opset 12).
func Pow(a, b *tensor.Dense) (*tensor.Dense, error) {
	if a != nil && b != nil && a.Dtype() != b.Dtype() {
		var err error
		if b, err = Cast(b, a.Dtype()); err != nil {
			return nil, fmt.Errorf("Pow: %w", err)
		}
	}
	return binaryOp(opPow, a, b)
}

// Max is the variadic element-wise maximum with broadcasting (NaN propagates).
func Max(xs ...*tensor.Dense) (*tensor.Dense, error) { return fold(opMax, xs) }

// Min is the variadic element-wise minimum with broadcasting (NaN propagates).
func Min(xs ...*tensor.Dense) (*tensor.Dense, error) { return fold(opMin, xs) }

// Sum is the variadic element-wise sum with broadcasting.
func Sum(xs ...*tensor.Dense) (*tensor.Dense, error) { return fold(opAdd, xs) }

// Mean is the variadic element-wise mean with broadcasting (float types only).
func Mean(xs ...*tensor.Dense) (*tensor.Dense, error) {
	s, err := fold(opAdd, xs)
	if err != nil {
		return nil, err
	}
	switch v := Flat(s).(type) {
	case []float32:
		inv := float32(len(xs))
		for i := range v {
			v[i] /= inv
		}
	case []float64:
		inv := float64(len(xs))
		for i := range v {
			v[i] /= inv
		}
	default:
		return nil, dtypeErr("Mean", v)
	}
	return s, nil
}

func fold(op arith, xs []*tensor.Dense) (*tensor.Dense, error) {
	name := arithNames[op]
	if op == opAdd {
		name = "Sum"
	}
	if len(xs) == 0 {
		return nil, shapeErr(name, "needs at least one input")
	}
	if len(xs) == 1 {
		if xs[0] == nil {
			return nil, shapeErr(name, "missing input")
		}
		return New(Dims(xs[0]), cloneSlice(Flat(xs[0])))
	}
	acc, err := binaryOp(op, xs[0], xs[1])
	for _, x := range xs[2:] {
		if err != nil {
			break
		}
		acc, err = binaryOp(op, acc, x)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return acc, nil
}

func binaryOp(op arith, a, b *tensor.Dense) (*tensor.Dense, error) {
	return binaryOpWith(nil, op, a, b)
}

func binaryOpWith(alloc Alloc, op arith, a, b *tensor.Dense) (*tensor.Dense, error) {
	name := arithNames[op]
	if a == nil || b == nil {
		return nil, shapeErr(name, "missing input")
	}
	as, bs := Dims(a), Dims(b)
	os, err := BroadcastShape(name, as, bs)
	if err != nil {
		return nil, err
	}
	ra, rb := Flat(a), Flat(b)
	var out any
	switch x := ra.(type) {
	case []float32:
		out, err = arithT(alloc, op, x, rb, as, bs, os)
	case []float64:
		out, err = arithT(alloc, op, x, rb, as, bs, os)
	case []int64:
		out, err = arithT(alloc, op, x, rb, as, bs, os)
	case []int32:
		out, err = arithT(alloc, op, x, rb, as, bs, os)
	case []int16:
		out, err = arithT(alloc, op, x, rb, as, bs, os)
	case []int8:
		out, err = arithT(alloc, op, x, rb, as, bs, os)
	case []uint8:
		out, err = arithT(alloc, op, x, rb, as, bs, os)
	case []uint16:
		out, err = arithT(alloc, op, x, rb, as, bs, os)
	case []uint32:
		out, err = arithT(alloc, op, x, rb, as, bs, os)
	case []uint64:
		out, err = arithT(alloc, op, x, rb, as, bs, os)
	default:
		return nil, dtypeErr(name, ra)
	}
	if err != nil {
		return nil, err
	}
	return New(os, out)
}

func isFloat[T number]() bool {
	var z T
	switch any(z).(type) {
	case float32, float64:
		return true
	}
	return false
}

func arithT[T number](alloc Alloc, op arith, a []T, rb any, as, bs, os []int) ([]T, error) {
	b, ok := rb.([]T)
	if !ok {
		return nil, fmt.Errorf("%s: operand types differ (%T vs %T): %w", arithNames[op], a, rb, ErrDtype)
	}
	if op == opDiv && !isFloat[T]() {
		for _, v := range b {
			if v == 0 {
				return nil, shapeErr("Div", "integer division by zero")
			}
		}
	}
	out := allocT[T](alloc, prod(os))
	bcastRuns(os, [][]int{as, bs}, func(o int, offs []int, n int, steps []int) {
		arithRun(op, out[o:o+n], a, offs[0], steps[0], b, offs[1], steps[1])
	})
	return out, nil
}

// arithRun applies op over one run; the op switch sits outside the element loops.
func arithRun[T number](op arith, dst, a []T, ia, sa int, b []T, ib, sb int) {
	n := len(dst)
	if sa == 1 && sb == 1 {
		a, b = a[ia:ia+n], b[ib:ib+n]
		switch op {
		case opAdd:
			for i := range dst {
				dst[i] = a[i] + b[i]
			}
			return
		case opSub:
			for i := range dst {
				dst[i] = a[i] - b[i]
			}
			return
		case opMul:
			for i := range dst {
				dst[i] = a[i] * b[i]
			}
			return
		case opDiv:
			for i := range dst {
				dst[i] = a[i] / b[i]
			}
			return
		}
		ia, ib = 0, 0
	}
	if sa == 1 && sb == 0 {
		a, y := a[ia:ia+n], b[ib]
		switch op {
		case opAdd:
			for i := range dst {
				dst[i] = a[i] + y
			}
			return
		case opSub:
			for i := range dst {
				dst[i] = a[i] - y
			}
			return
		case opMul:
			for i := range dst {
				dst[i] = a[i] * y
			}
			return
		case opDiv:
			for i := range dst {
				dst[i] = a[i] / y
			}
			return
		}
		ia = 0
	}
	switch op {
	case opAdd:
		for i := range dst {
			dst[i] = a[ia+i*sa] + b[ib+i*sb]
		}
	case opSub:
		for i := range dst {
			dst[i] = a[ia+i*sa] - b[ib+i*sb]
		}
	case opMul:
		for i := range dst {
			dst[i] = a[ia+i*sa] * b[ib+i*sb]
		}
	case opDiv:
		for i := range dst {
			dst[i] = a[ia+i*sa] / b[ib+i*sb]
		}
	case opPow:
		for i := range dst {
			dst[i] = powT(a[ia+i*sa], b[ib+i*sb])
		}
	case opMax:
		for i := range dst {
			x, y := a[ia+i*sa], b[ib+i*sb]
			if x != x || x > y {
				dst[i] = x
			} else {
				dst[i] = y
			}
		}
	case opMin:
		for i := range dst {
			x, y := a[ia+i*sa], b[ib+i*sb]
			if x != x || x < y {
				dst[i] = x
			} else {
				dst[i] = y
			}
		}
	}
}

func powT[T number](x, y T) T {
	switch v := any(x).(type) {
	case float32:
		e := float32(any(y).(float32))
		if e == 2 {
			return T(v * v)
		}
		return T(float32(math.Pow(float64(v), float64(e))))
	}
	return T(math.Pow(float64(x), float64(y)))
}
