package kernels

import (
	"fmt"
	"math"

	"gorgonia.org/tensor"
)

// quantParams expands scale and zero point to one value per position along
// axis (or one for the whole tensor when scale has a single element).
func quantParams(op string, sh []int, scale *tensor.Dense, axis int) (sc []float32, outer, n, inner int, err error) {
	sc, ssh, err := f32in(op, scale)
	if err != nil {
		return nil, 0, 0, 0, err
	}
	if prod(ssh) == 1 && len(ssh) <= 1 {
		return sc, 1, 1, prod(sh), nil
	}
	if len(ssh) != 1 {
		return nil, 0, 0, 0, shapeErr(op, "scale %v must be a scalar or 1-D (blocked quantization is not supported)", ssh)
	}
	if axis, err = normAxis(op, axis, len(sh)); err != nil {
		return nil, 0, 0, 0, err
	}
	if ssh[0] != sh[axis] {
		return nil, 0, 0, 0, shapeErr(op, "scale %v does not match dim %d of %v", ssh, axis, sh)
	}
	return sc, prod(sh[:axis]), sh[axis], prod(sh[axis+1:]), nil
}

// QuantizeLinear is ONNX QuantizeLinear for float32 x: y = saturate(round(x /
// scale) + zero_point) with round half to even, as ONNX Runtime computes it
// (float32 division, then rounding). The output type is zeroPoint's (int8,
// uint8, int16 or uint16), or to when zeroPoint is nil. scale is a scalar
// (per tensor) or 1-D along axis (per channel).
func QuantizeLinear(x, scale, zeroPoint *tensor.Dense, axis int, to tensor.Dtype) (*tensor.Dense, error) {
	const op = "QuantizeLinear"
	xs, sh, err := f32in(op, x)
	if err != nil {
		return nil, err
	}
	sc, outer, n, inner, err := quantParams(op, sh, scale, axis)
	if err != nil {
		return nil, err
	}
	zp := make([]int, len(sc))
	if zeroPoint != nil {
		to = zeroPoint.Dtype()
		if zp, err = Ints(zeroPoint); err != nil {
			return nil, fmt.Errorf("%s: zero point: %w", op, err)
		}
		if len(zp) != len(sc) {
			return nil, shapeErr(op, "zero point has %d values, scale %d", len(zp), len(sc))
		}
	}
	var lo, hi float64
	switch to {
	case tensor.Int8:
		lo, hi = math.MinInt8, math.MaxInt8
	case tensor.Uint8:
		lo, hi = 0, math.MaxUint8
	case tensor.Int16:
		lo, hi = math.MinInt16, math.MaxInt16
	case tensor.Uint16:
		lo, hi = 0, math.MaxUint16
	case tensor.Int32:
		lo, hi = math.MinInt32, math.MaxInt32
	default:
		return nil, fmt.Errorf("%s: output %v: %w", op, to, ErrDtype)
	}
	q := make([]float64, len(xs))
	for o := 0; o < outer; o++ {
		for c := 0; c < n; c++ {
			s, z := sc[c], float64(zp[c])
			base := (o*n + c) * inner
			for i := base; i < base+inner; i++ {
				v := math.RoundToEven(float64(xs[i]/s)) + z
				q[i] = min(max(v, lo), hi)
			}
		}
	}
	var out any
	switch to {
	case tensor.Int8:
		out = castNum[int8](q)
	case tensor.Uint8:
		out = castNum[uint8](q)
	case tensor.Int16:
		out = castNum[int16](q)
	case tensor.Uint16:
		out = castNum[uint16](q)
	case tensor.Int32:
		out = castNum[int32](q)
	}
	return New(sh, out)
}

// DequantizeLinear is ONNX DequantizeLinear to float32: y = (x - zero_point) *
// scale, with the subtraction in int32 and one float32 multiply as ONNX Runtime
// does. x may be int8, uint8, int16, uint16 or int32 (bias); per tensor or per axis.
func DequantizeLinear(x, scale, zeroPoint *tensor.Dense, axis int) (*tensor.Dense, error) {
	const op = "DequantizeLinear"
	if x == nil {
		return nil, shapeErr(op, "missing input")
	}
	sh := Dims(x)
	xi, err := Ints(x)
	if err != nil {
		if u, ok := Flat(x).([]uint16); ok {
			xi = toIntsU16(u)
		} else {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
	}
	sc, outer, n, inner, err := quantParams(op, sh, scale, axis)
	if err != nil {
		return nil, err
	}
	zp := make([]int, len(sc))
	if zeroPoint != nil {
		if zeroPoint.Dtype() != x.Dtype() {
			return nil, fmt.Errorf("%s: zero point is %v, input %v: %w", op, zeroPoint.Dtype(), x.Dtype(), ErrDtype)
		}
		if zp, err = Ints(zeroPoint); err != nil {
			if u, ok := Flat(zeroPoint).([]uint16); ok {
				zp = toIntsU16(u)
			} else {
				return nil, fmt.Errorf("%s: zero point: %w", op, err)
			}
		}
		if len(zp) != len(sc) {
			return nil, shapeErr(op, "zero point has %d values, scale %d", len(zp), len(sc))
		}
	}
	out := make([]float32, len(xi))
	for o := 0; o < outer; o++ {
		for c := 0; c < n; c++ {
			s, z := sc[c], int32(zp[c])
			base := (o*n + c) * inner
			for i := base; i < base+inner; i++ {
				out[i] = float32(int32(xi[i])-z) * s
			}
		}
	}
	return New(sh, out)
}

func toIntsU16(s []uint16) []int {
	r := make([]int, len(s))
	for i, v := range s {
		r[i] = int(v)
	}
	return r
}

// SubZeroPoint returns x - zeroPoint as float32. A 1-D zero point applies along
// axis (negative counts from the end: -2 for the rows of A, -1 for the
// columns of B, 0 for the output channels of W); a scalar to every element.
func SubZeroPoint(x, zp *tensor.Dense, axis int) (*tensor.Dense, error) {
	xf, err := Cast(x, tensor.Float32)
	if err != nil {
		return nil, err
	}
	if zp == nil {
		return xf, nil
	}
	zf, err := Cast(zp, tensor.Float32)
	if err != nil {
		return nil, err
	}
	if NumElems(zp) > 1 {
		// Put the zero points on axis of x.
		shape := make([]int, x.Dims())
		for i := range shape {
			shape[i] = 1
		}
		a := axis
		if a < 0 {
			a += len(shape)
		}
		if a < 0 || a >= len(shape) {
			return nil, fmt.Errorf("zero point of %d values for shape %v", NumElems(zp), x.Shape())
		}
		shape[a] = NumElems(zp)
		if zf, err = Reshape(zf, shape, false); err != nil {
			return nil, err
		}
	}
	return Sub(xf, zf)
}

// DynamicQuantizeLinear quantizes x to uint8 with the range widened to
// include 0, scale = (max - min) / 255 and a rounded, saturated zero point.
func DynamicQuantizeLinear(x *tensor.Dense) ([]*tensor.Dense, error) {
	xs, err := Float32s(x)
	if err != nil {
		return nil, err
	}
	lo, hi := float32(0), float32(0)
	for _, v := range xs {
		lo, hi = min(lo, v), max(hi, v)
	}
	scale := (hi - lo) / 255
	zp := float32(0)
	if scale != 0 {
		zp = float32(math.RoundToEven(float64(min(max(-lo/scale, 0), 255))))
	}
	st, err := New(nil, []float32{scale})
	if err != nil {
		return nil, err
	}
	zt, err := New(nil, []uint8{uint8(zp)})
	if err != nil {
		return nil, err
	}
	if scale == 0 {
		st1, _ := New(nil, []float32{1})
		y, err := QuantizeLinear(x, st1, zt, 0, tensor.Uint8)
		return []*tensor.Dense{y, st, zt}, err
	}
	y, err := QuantizeLinear(x, st, zt, 0, tensor.Uint8)
	if err != nil {
		return nil, err
	}
	return []*tensor.Dense{y, st, zt}, nil
}
