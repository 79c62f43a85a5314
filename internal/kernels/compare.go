package kernels

import (
	"fmt"

	"gorgonia.org/tensor"
)

type cmpOp int

const (
	cmpEq cmpOp = iota
	cmpGt
	cmpLt
	cmpGe
	cmpLe
)

var cmpNames = [...]string{"Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual"}

// Equal compares element-wise with broadcasting; bool output. Bool operands are allowed.
func Equal(a, b *tensor.Dense) (*tensor.Dense, error) { return compare(cmpEq, a, b) }

// Greater returns a > b element-wise with broadcasting.
func Greater(a, b *tensor.Dense) (*tensor.Dense, error) { return compare(cmpGt, a, b) }

// Less returns a < b element-wise with broadcasting.
func Less(a, b *tensor.Dense) (*tensor.Dense, error) { return compare(cmpLt, a, b) }

// GreaterOrEqual returns a >= b element-wise with broadcasting.
func GreaterOrEqual(a, b *tensor.Dense) (*tensor.Dense, error) { return compare(cmpGe, a, b) }

// LessOrEqual returns a <= b element-wise with broadcasting.
func LessOrEqual(a, b *tensor.Dense) (*tensor.Dense, error) { return compare(cmpLe, a, b) }

func compare(op cmpOp, a, b *tensor.Dense) (*tensor.Dense, error) {
	name := cmpNames[op]
	if a == nil || b == nil {
		return nil, shapeErr(name, "missing input")
	}
	as, bs := Dims(a), Dims(b)
	os, err := BroadcastShape(name, as, bs)
	if err != nil {
		return nil, err
	}
	ra, rb := Flat(a), Flat(b)
	var out []bool
	switch x := ra.(type) {
	case []float32:
		out, err = cmpT(op, x, rb, as, bs, os)
	case []float64:
		out, err = cmpT(op, x, rb, as, bs, os)
	case []int64:
		out, err = cmpT(op, x, rb, as, bs, os)
	case []int32:
		out, err = cmpT(op, x, rb, as, bs, os)
	case []int16:
		out, err = cmpT(op, x, rb, as, bs, os)
	case []int8:
		out, err = cmpT(op, x, rb, as, bs, os)
	case []uint8:
		out, err = cmpT(op, x, rb, as, bs, os)
	case []uint16:
		out, err = cmpT(op, x, rb, as, bs, os)
	case []uint32:
		out, err = cmpT(op, x, rb, as, bs, os)
	case []uint64:
		out, err = cmpT(op, x, rb, as, bs, os)
	case []bool:
		if op != cmpEq {
			return nil, dtypeErr(name, ra)
		}
		out, err = logicT(logXnor, x, rb, as, bs, os)
	default:
		return nil, dtypeErr(name, ra)
	}
	if err != nil {
		return nil, err
	}
	return New(os, out)
}

func cmpT[T number](op cmpOp, a []T, rb any, as, bs, os []int) ([]bool, error) {
	b, ok := rb.([]T)
	if !ok {
		return nil, fmt.Errorf("%s: operand types differ (%T vs %T): %w", cmpNames[op], a, rb, ErrDtype)
	}
	out := make([]bool, prod(os))
	bcastRuns(os, [][]int{as, bs}, func(o int, offs []int, n int, steps []int) {
		ia, sa, ib, sb := offs[0], steps[0], offs[1], steps[1]
		d := out[o : o+n]
		switch op {
		case cmpEq:
			for i := range d {
				d[i] = a[ia+i*sa] == b[ib+i*sb]
			}
		case cmpGt:
			for i := range d {
				d[i] = a[ia+i*sa] > b[ib+i*sb]
			}
		case cmpLt:
			for i := range d {
				d[i] = a[ia+i*sa] < b[ib+i*sb]
			}
		case cmpGe:
			for i := range d {
				d[i] = a[ia+i*sa] >= b[ib+i*sb]
			}
		case cmpLe:
			for i := range d {
				d[i] = a[ia+i*sa] <= b[ib+i*sb]
			}
		}
	})
	return out, nil
}

type logOp int

const (
	logAnd logOp = iota
	logOr
	logXor
	logXnor
)

var logNames = [...]string{"And", "Or", "Xor", "Equal"}

// And is element-wise logical and of bool tensors with broadcasting.
func And(a, b *tensor.Dense) (*tensor.Dense, error) { return logic(logAnd, a, b) }

// Or is element-wise logical or of bool tensors with broadcasting.
func Or(a, b *tensor.Dense) (*tensor.Dense, error) { return logic(logOr, a, b) }

// Xor is element-wise logical xor of bool tensors with broadcasting.
func Xor(a, b *tensor.Dense) (*tensor.Dense, error) { return logic(logXor, a, b) }

func logic(op logOp, a, b *tensor.Dense) (*tensor.Dense, error) {
	name := logNames[op]
	if a == nil || b == nil {
		return nil, shapeErr(name, "missing input")
	}
	x, ok := Flat(a).([]bool)
	if !ok {
		return nil, dtypeErr(name, Flat(a))
	}
	as, bs := Dims(a), Dims(b)
	os, err := BroadcastShape(name, as, bs)
	if err != nil {
		return nil, err
	}
	out, err := logicT(op, x, Flat(b), as, bs, os)
	if err != nil {
		return nil, err
	}
	return New(os, out)
}

func logicT(op logOp, a []bool, rb any, as, bs, os []int) ([]bool, error) {
	b, ok := rb.([]bool)
	if !ok {
		return nil, fmt.Errorf("%s: want bool operands, got %T: %w", logNames[op], rb, ErrDtype)
	}
	out := make([]bool, prod(os))
	bcastRuns(os, [][]int{as, bs}, func(o int, offs []int, n int, steps []int) {
		ia, sa, ib, sb := offs[0], steps[0], offs[1], steps[1]
		d := out[o : o+n]
		for i := range d {
			x, y := a[ia+i*sa], b[ib+i*sb]
			switch op {
			case logAnd:
				d[i] = x && y
			case logOr:
				d[i] = x || y
			case logXor:
				d[i] = x != y
			case logXnor:
				d[i] = x == y
			}
		}
	})
	return out, nil
}

// Not is element-wise logical negation of a bool tensor.
func Not(x *tensor.Dense) (*tensor.Dense, error) {
	if x == nil {
		return nil, shapeErr("Not", "missing input")
	}
	s, ok := Flat(x).([]bool)
	if !ok {
		return nil, dtypeErr("Not", Flat(x))
	}
	out := make([]bool, len(s))
	for i, v := range s {
		out[i] = !v
	}
	return New(Dims(x), out)
}

// Where selects x where cond is true and y elsewhere, broadcasting all three.
func Where(cond, x, y *tensor.Dense) (*tensor.Dense, error) {
	if cond == nil || x == nil || y == nil {
		return nil, shapeErr("Where", "missing input")
	}
	c, ok := Flat(cond).([]bool)
	if !ok {
		return nil, dtypeErr("Where", Flat(cond))
	}
	if x.Dtype() != y.Dtype() {
		return nil, fmt.Errorf("Where: x is %v but y is %v: %w", x.Dtype(), y.Dtype(), ErrDtype)
	}
	cs, xs, ys := Dims(cond), Dims(x), Dims(y)
	os, err := BroadcastShape("Where", cs, xs, ys)
	if err != nil {
		return nil, err
	}
	// One index per output element: pick from x (index i) or y (index n+i) of the concatenation.
	rx, ry := Flat(x), Flat(y)
	nx := prod(xs)
	idx := make([]int, prod(os))
	bcastRuns(os, [][]int{cs, xs, ys}, func(o int, offs []int, n int, steps []int) {
		for i := 0; i < n; i++ {
			if c[offs[0]+i*steps[0]] {
				idx[o+i] = offs[1] + i*steps[1]
			} else {
				idx[o+i] = nx + offs[2] + i*steps[2]
			}
		}
	})
	both := makeLike(rx, nx+prod(ys))
	copyAt(both, 0, rx, 0, nx)
	copyAt(both, nx, ry, 0, prod(ys))
	out, err := take("Where", both, idx)
	if err != nil {
		return nil, err
	}
	return New(os, out)
}
