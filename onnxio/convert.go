package onnxio

import (
	"fmt"
	"math"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// Bytes returns the tensor's data in ONNX raw_data layout (little-endian,
// sub-byte types packed) whatever field holds it. The slice is a copy.
func Bytes(t *onnxpb.TensorProto, dir string) ([]byte, error) {
	wrap := func(err error) error {
		return fmt.Errorf("tensor %q (%s): %w", t.GetName(), DataTypeName(t.GetDataType()), err)
	}
	dt := t.GetDataType()
	if elemBits(dt) == 0 {
		return nil, wrap(ErrUnsupportedType)
	}
	n, err := NumElements(t)
	if err != nil {
		return nil, err
	}
	raw, isRaw, err := rawBytes(t, dir)
	switch {
	case err != nil:
		return nil, wrap(err)
	case isRaw:
		raw = append([]byte{}, raw...)
	default:
		if raw, err = typedToRaw(t, n); err != nil {
			return nil, wrap(err)
		}
	}
	if want := rawSize(dt, n); int64(len(raw)) != want {
		return nil, wrap(fmt.Errorf("%d data bytes for %d elements (want %d)", len(raw), n, want))
	}
	return raw, nil
}

// Strings returns the elements of a STRING tensor. ONNX strings are byte
// sequences; they are returned unchanged as Go strings. dir is accepted for
// symmetry with the other accessors (string tensors are never external).
func Strings(t *onnxpb.TensorProto, dir string) ([]string, error) {
	if onnxpb.TensorProto_DataType(t.GetDataType()) != onnxpb.TensorProto_STRING {
		return nil, fmt.Errorf("tensor %q (%s): not a STRING tensor: %w", t.GetName(), DataTypeName(t.GetDataType()), ErrUnsupportedType)
	}
	v, err := Values(t, dir)
	if err != nil {
		return nil, err
	}
	return v.([]string), nil
}

// Float32s returns the elements converted to float32. It accepts every
// float type (FLOAT16, BFLOAT16, DOUBLE, FLOAT8*, FLOAT4E2M1), every
// integer type (converted by value, as numpy's astype would) and BOOL
// (0 or 1). STRING and complex tensors are refused.
func Float32s(t *onnxpb.TensorProto, dir string) ([]float32, error) {
	v, err := Values(t, dir)
	if err != nil {
		return nil, err
	}
	dt := onnxpb.TensorProto_DataType(t.GetDataType())
	switch s := v.(type) {
	case []float32:
		return s, nil
	case []uint16:
		out := make([]float32, len(s))
		for i, h := range s {
			switch dt {
			case onnxpb.TensorProto_FLOAT16:
				out[i] = Float16ToFloat32(h)
			case onnxpb.TensorProto_BFLOAT16:
				out[i] = BFloat16ToFloat32(h)
			default:
				out[i] = float32(h)
			}
		}
		return out, nil
	case []uint8:
		out := make([]float32, len(s))
		isFloat := elemFloatBits(dt)
		for i, b := range s {
			if isFloat {
				out[i] = floatBitsToFloat32(int32(dt), b)
			} else {
				out[i] = float32(b)
			}
		}
		return out, nil
	}
	out, err := numeric[float32](v)
	if err != nil {
		return nil, fmt.Errorf("tensor %q (%s): %w", t.GetName(), dt, err)
	}
	return out, nil
}

// Float64s is Float32s with float64 results; DOUBLE keeps full precision.
func Float64s(t *onnxpb.TensorProto, dir string) ([]float64, error) {
	v, err := Values(t, dir)
	if err != nil {
		return nil, err
	}
	if s, ok := v.([]float64); ok {
		return s, nil
	}
	f, err := Float32s(t, dir)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(f))
	for i, x := range f {
		out[i] = float64(x)
	}
	return out, nil
}

// Int64s returns the elements of an integer or BOOL tensor as int64.
// Float tensors are refused rather than truncated; UINT64 values above
// MaxInt64 are an error.
func Int64s(t *onnxpb.TensorProto, dir string) ([]int64, error) {
	v, err := Values(t, dir)
	if err != nil {
		return nil, err
	}
	out, err := integers(t, v, math.MinInt64, math.MaxInt64)
	if err != nil {
		return nil, err
	}
	return numeric[int64](out)
}

// Int32s returns the elements of an integer or BOOL tensor as int32; values
// outside the int32 range are an error.
func Int32s(t *onnxpb.TensorProto, dir string) ([]int32, error) {
	v, err := Values(t, dir)
	if err != nil {
		return nil, err
	}
	out, err := integers(t, v, math.MinInt32, math.MaxInt32)
	if err != nil {
		return nil, err
	}
	return numeric[int32](out)
}

// Bools returns the elements of a BOOL tensor, or of a numeric tensor as
// "value != 0".
func Bools(t *onnxpb.TensorProto, dir string) ([]bool, error) {
	v, err := Values(t, dir)
	if err != nil {
		return nil, err
	}
	if b, ok := v.([]bool); ok {
		return b, nil
	}
	f, err := Float64s(t, dir)
	if err != nil {
		return nil, err
	}
	out := make([]bool, len(f))
	for i, x := range f {
		out[i] = x != 0
	}
	return out, nil
}

// elemFloatBits reports the 8-bit and 4-bit float types.
func elemFloatBits(dt onnxpb.TensorProto_DataType) bool {
	switch dt {
	case onnxpb.TensorProto_FLOAT8E4M3FN, onnxpb.TensorProto_FLOAT8E4M3FNUZ, onnxpb.TensorProto_FLOAT8E5M2,
		onnxpb.TensorProto_FLOAT8E5M2FNUZ, onnxpb.TensorProto_FLOAT8E8M0, onnxpb.TensorProto_FLOAT4E2M1:
		return true
	}
	return false
}

// integers checks that v holds integers (or bools) within [lo, hi] and
// returns them as []int64, with unsigned 64-bit values checked first.
func integers(t *onnxpb.TensorProto, v any, lo, hi int64) ([]int64, error) {
	dt := onnxpb.TensorProto_DataType(t.GetDataType())
	bad := func(what string) error {
		return fmt.Errorf("tensor %q (%s): %s: %w", t.GetName(), dt, what, ErrUnsupportedType)
	}
	switch dt {
	case onnxpb.TensorProto_FLOAT16, onnxpb.TensorProto_BFLOAT16:
		return nil, bad("not an integer type")
	}
	if elemFloatBits(dt) {
		return nil, bad("not an integer type")
	}
	var out []int64
	switch s := v.(type) {
	case []uint64:
		out = make([]int64, len(s))
		for i, x := range s {
			if x > uint64(hi) {
				return nil, bad(fmt.Sprintf("element %d = %d out of range", i, x))
			}
			out[i] = int64(x)
		}
		return out, nil
	case []bool:
		out = make([]int64, len(s))
		for i, x := range s {
			if x {
				out[i] = 1
			}
		}
		return out, nil
	case []int8, []uint8, []int16, []uint16, []int32, []uint32, []int64:
		var err error
		if out, err = numeric[int64](s); err != nil {
			return nil, err
		}
	default:
		return nil, bad("not an integer type")
	}
	for i, x := range out {
		if x < lo || x > hi {
			return nil, bad(fmt.Sprintf("element %d = %d out of range", i, x))
		}
	}
	return out, nil
}

// number is every Go element type numeric converts between.
type number interface {
	~int8 | ~uint8 | ~int16 | ~uint16 | ~int32 | ~uint32 | ~int64 | ~uint64 | ~float32 | ~float64
}

// numeric converts a slice of any real number type to []T by value.
func numeric[T number](v any) ([]T, error) {
	switch s := v.(type) {
	case []T:
		return s, nil
	case []int8:
		return conv[T](s), nil
	case []uint8:
		return conv[T](s), nil
	case []int16:
		return conv[T](s), nil
	case []uint16:
		return conv[T](s), nil
	case []int32:
		return conv[T](s), nil
	case []uint32:
		return conv[T](s), nil
	case []int64:
		return conv[T](s), nil
	case []uint64:
		return conv[T](s), nil
	case []float32:
		return conv[T](s), nil
	case []float64:
		return conv[T](s), nil
	case []bool:
		out := make([]T, len(s))
		for i, b := range s {
			if b {
				out[i] = 1
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("cannot convert %T to numbers: %w", v, ErrUnsupportedType)
}

func conv[T, S number](s []S) []T {
	out := make([]T, len(s))
	for i, x := range s {
		out[i] = T(x)
	}
	return out
}
