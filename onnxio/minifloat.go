package onnxio

import (
	"math"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// The 8-bit and 4-bit float formats are only decoded (to float32): onnxio
// reads models that carry them but the quantizer never produces them.

// minifloat decodes a finite sign/exponent/mantissa pattern with the given
// field widths and exponent bias; specials are handled by the callers.
func minifloat(bits uint8, ebits, mbits uint, bias int) float32 {
	sign := float32(1)
	if bits>>(ebits+mbits)&1 == 1 {
		sign = -1
	}
	e := int(bits>>mbits) & (1<<ebits - 1)
	m := float64(bits & (1<<mbits - 1))
	scale := float64(uint(1) << mbits)
	if e == 0 { // subnormal
		return sign * float32(math.Ldexp(m/scale, 1-bias))
	}
	return sign * float32(math.Ldexp(1+m/scale, e-bias))
}

// floatBitsToFloat32 decodes one FLOAT8*/FLOAT4E2M1 element.
func floatBitsToFloat32(dt int32, b uint8) float32 {
	nan := float32(math.NaN())
	switch onnxpb.TensorProto_DataType(dt) {
	case onnxpb.TensorProto_FLOAT8E4M3FN:
		if b&0x7f == 0x7f {
			return nan
		}
		return minifloat(b, 4, 3, 7)
	case onnxpb.TensorProto_FLOAT8E4M3FNUZ:
		if b == 0x80 {
			return nan
		}
		return minifloat(b, 4, 3, 8)
	case onnxpb.TensorProto_FLOAT8E5M2:
		if b&0x7c == 0x7c {
			if b&0x03 != 0 {
				return nan
			}
			return float32(math.Inf(1 - 2*int(b>>7)))
		}
		return minifloat(b, 5, 2, 15)
	case onnxpb.TensorProto_FLOAT8E5M2FNUZ:
		if b == 0x80 {
			return nan
		}
		return minifloat(b, 5, 2, 16)
	case onnxpb.TensorProto_FLOAT8E8M0:
		if b == 0xff {
			return nan
		}
		return float32(math.Ldexp(1, int(b)-127))
	case onnxpb.TensorProto_FLOAT4E2M1:
		return minifloat(b&0x0f, 2, 1, 1)
	}
	return nan
}
