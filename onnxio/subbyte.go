package onnxio

import "fmt"

// ONNX packs 4-bit and 2-bit elements into bytes, first element in the
// least significant bits; a trailing partial byte is zero-padded.

// unpackBits splits packed bytes into n elements of width bits (2 or 4),
// each in the low bits of one byte, without sign extension.
func unpackBits(packed []byte, n int, bits uint) []uint8 {
	per := 8 / int(bits)
	mask := uint8(1)<<bits - 1
	out := make([]uint8, n)
	for i := range out {
		out[i] = packed[i/per] >> (uint(i%per) * bits) & mask
	}
	return out
}

// signExtend turns unsigned bits-wide elements into two's complement int8.
func signExtend(u []uint8, bits uint) []int8 {
	out := make([]int8, len(u))
	shift := 8 - bits
	for i, v := range u {
		out[i] = int8(v<<shift) >> shift
	}
	return out
}

// packBits is the inverse of unpackBits; values are masked to bits width.
func packBits(vals []uint8, bits uint) []byte {
	per := 8 / int(bits)
	mask := uint8(1)<<bits - 1
	out := make([]byte, (len(vals)+per-1)/per)
	for i, v := range vals {
		out[i/per] |= (v & mask) << (uint(i%per) * bits)
	}
	return out
}

// UnpackInt4 unpacks n signed 4-bit values from ONNX's packed layout.
func UnpackInt4(packed []byte, n int) ([]int8, error) {
	if n < 0 || len(packed) < (n+1)/2 {
		return nil, fmt.Errorf("unpack int4: %d bytes cannot hold %d values", len(packed), n)
	}
	return signExtend(unpackBits(packed, n, 4), 4), nil
}

// UnpackUint4 unpacks n unsigned 4-bit values from ONNX's packed layout.
func UnpackUint4(packed []byte, n int) ([]uint8, error) {
	if n < 0 || len(packed) < (n+1)/2 {
		return nil, fmt.Errorf("unpack uint4: %d bytes cannot hold %d values", len(packed), n)
	}
	return unpackBits(packed, n, 4), nil
}

// PackInt4 packs signed 4-bit values (each in -8..7) two per byte.
func PackInt4(vals []int8) []byte {
	u := make([]uint8, len(vals))
	for i, v := range vals {
		u[i] = uint8(v)
	}
	return packBits(u, 4)
}

// PackUint4 packs unsigned 4-bit values (each in 0..15) two per byte.
func PackUint4(vals []uint8) []byte { return packBits(vals, 4) }
