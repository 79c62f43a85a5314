package onnxio

import "math"

// Float16ToFloat32 converts IEEE 754 half-precision bits to float32. Every
// half value, subnormals, infinities and NaN payloads included, is exactly
// representable in float32, so the conversion is exact.
func Float16ToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN: keep the payload.
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	case mant == 0: // signed zero
		return math.Float32frombits(sign)
	}
	// Subnormal half: normalise the mantissa into a float32 normal.
	e := uint32(127 - 15 + 1)
	for mant&0x400 == 0 {
		mant <<= 1
		e--
	}
	return math.Float32frombits(sign | e<<23 | (mant&0x3ff)<<13)
}

// Float32ToFloat16 converts a float32 to IEEE 754 half-precision bits with
// round-to-nearest-even, the rounding ONNX Runtime and numpy use. Values too
// large for half become infinity; NaN stays NaN (quiet).
func Float32ToFloat16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant == 0 {
			return sign | 0x7c00
		}
		return sign | 0x7e00 | uint16(mant>>13)
	}
	// Unbiased exponent re-biased for half.
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		// Result is subnormal in half (or rounds to zero). Shift the full
		// 24-bit significand so that the half's lowest bit is bit 0.
		if e < -10 {
			return sign
		}
		m := mant | 0x800000
		shift := uint32(14 - e)
		return sign | uint16(roundShift(m, shift))
	}
	// Normal: keep 10 mantissa bits, round the dropped 13. A carry out of
	// the mantissa correctly bumps the exponent (and may reach infinity).
	v := uint32(e)<<10 | mant>>13
	v = roundBits(v, mant&0x1fff, 13)
	return sign | uint16(v)
}

// BFloat16ToFloat32 converts bfloat16 bits (the top half of a float32) to
// float32 exactly.
func BFloat16ToFloat32(h uint16) float32 {
	return math.Float32frombits(uint32(h) << 16)
}

// Float32ToBFloat16 converts a float32 to bfloat16 bits with
// round-to-nearest-even; NaN stays a quiet NaN rather than rounding into
// infinity.
func Float32ToBFloat16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x0040
	}
	return uint16(roundBits(b>>16, b&0xffff, 16))
}

// roundBits rounds the kept value v to nearest even given the dropped low
// bits (n of them).
func roundBits(v, dropped uint32, n uint) uint32 {
	half := uint32(1) << (n - 1)
	if dropped > half || (dropped == half && v&1 == 1) {
		v++
	}
	return v
}

// roundShift returns m >> shift rounded to nearest even.
func roundShift(m, shift uint32) uint32 {
	if shift >= 32 {
		return 0
	}
	return roundBits(m>>shift, m&(1<<shift-1), uint(shift))
}
