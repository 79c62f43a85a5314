package kernels

import (
	"fmt"

	"gorgonia.org/tensor"
)

// Cast converts x to dtype to. Float to integer conversion truncates toward zero
// (as ONNX and C do); any non-zero value (NaN included) becomes true and bools
// become 0/1. Out-of-range float to integer results are unspecified by ONNX.
func Cast(x *tensor.Dense, to tensor.Dtype) (*tensor.Dense, error) {
	if x == nil {
		return nil, shapeErr("Cast", "missing input")
	}
	src := Flat(x)
	var out any
	switch to {
	case tensor.Float32:
		out = castNum[float32](src)
	case tensor.Float64:
		out = castNum[float64](src)
	case tensor.Int64:
		out = castNum[int64](src)
	case tensor.Int32:
		out = castNum[int32](src)
	case tensor.Int16:
		out = castNum[int16](src)
	case tensor.Int8:
		out = castNum[int8](src)
	case tensor.Uint8:
		out = castNum[uint8](src)
	case tensor.Uint16:
		out = castNum[uint16](src)
	case tensor.Uint32:
		out = castNum[uint32](src)
	case tensor.Uint64:
		out = castNum[uint64](src)
	case tensor.Bool:
		out = castBool(src)
	default:
		return nil, fmt.Errorf("Cast to %v: %w", to, ErrDtype)
	}
	if out == nil {
		return nil, dtypeErr("Cast", src)
	}
	return New(Dims(x), out)
}

func conv[D, S number](s []S) []D {
	d := make([]D, len(s))
	for i, v := range s {
		d[i] = D(v)
	}
	return d
}

func castNum[D number](src any) any {
	switch s := src.(type) {
	case []float32:
		return conv[D](s)
	case []float64:
		return conv[D](s)
	case []int64:
		return conv[D](s)
	case []int32:
		return conv[D](s)
	case []int16:
		return conv[D](s)
	case []int8:
		return conv[D](s)
	case []uint8:
		return conv[D](s)
	case []uint16:
		return conv[D](s)
	case []uint32:
		return conv[D](s)
	case []uint64:
		return conv[D](s)
	case []bool:
		d := make([]D, len(s))
		for i, v := range s {
			if v {
				d[i] = 1
			}
		}
		return d
	}
	return nil
}

func nonZero[S number](s []S) []bool {
	d := make([]bool, len(s))
	for i, v := range s {
		d[i] = v != 0
	}
	return d
}

func castBool(src any) any {
	switch s := src.(type) {
	case []float32:
		return nonZero(s)
	case []float64:
		return nonZero(s)
	case []int64:
		return nonZero(s)
	case []int32:
		return nonZero(s)
	case []int16:
		return nonZero(s)
	case []int8:
		return nonZero(s)
	case []uint8:
		return nonZero(s)
	case []uint16:
		return nonZero(s)
	case []uint32:
		return nonZero(s)
	case []uint64:
		return nonZero(s)
	case []bool:
		return append([]bool(nil), s...)
	}
	return nil
}
