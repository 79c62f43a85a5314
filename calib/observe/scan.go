package observe

import (
	"fmt"
	"math"
	"unsafe"
)

// checkShape verifies that shape, when given, describes len(data) values.
func checkShape(data []float32, shape []int) error {
	if shape == nil {
		return nil
	}
	n := 1
	for _, d := range shape {
		if d < 0 {
			return fmt.Errorf("%w: negative dimension in %v", ErrShape, shape)
		}
		n *= d
	}
	if n != len(data) {
		return fmt.Errorf("%w: shape %v holds %d values, got %d", ErrShape, shape, n, len(data))
	}
	return nil
}

// isFinite32 reports whether x is neither NaN nor ±Inf.
func isFinite32(x float32) bool {
	// A float32 is non-finite exactly when its exponent bits are all ones.
	return math.Float32bits(x)&0x7f800000 != 0x7f800000
}

// less32 is a total order on finite float32s that puts -0 before +0, so
// that min/max folds give the same bits whatever the order of the input.
func less32(a, b float32) bool {
	if a != b {
		return a < b
	}
	return math.Signbit(float64(a)) && !math.Signbit(float64(b))
}

// extrema returns the minimum and maximum of data under less32, or an
// error wrapping ErrNonFinite at the first NaN/Inf. data must be non-empty.
//
// It is the hot loop of every observer, so it works on order keys (see
// orderKey) instead of floats: integer min/max are branch-free (and
// vectorised on amd64, keyRangeVector), four independent accumulators hide
// their latency, and one key range check after the loop replaces a
// finiteness test per element.
// Only when that check fails is the data scanned again for the index.
func extrema(data []float32) (lo, hi float32, err error) {
	bits := unsafe.Slice((*int32)(unsafe.Pointer(unsafe.SliceData(data))), len(data))
	k := bitsKey(bits[0])
	k0, k1, i := keyRangeVector(bits, k, k)
	lo0, lo1, lo2, lo3 := k0, k0, k0, k0
	hi0, hi1, hi2, hi3 := k1, k1, k1, k1
	for ; i+4 <= len(bits); i += 4 {
		d := bits[i : i+4 : i+4]
		k0, k1, k2, k3 := bitsKey(d[0]), bitsKey(d[1]), bitsKey(d[2]), bitsKey(d[3])
		lo0, hi0 = min(lo0, k0), max(hi0, k0)
		lo1, hi1 = min(lo1, k1), max(hi1, k1)
		lo2, hi2 = min(lo2, k2), max(hi2, k2)
		lo3, hi3 = min(lo3, k3), max(hi3, k3)
	}
	for ; i < len(bits); i++ {
		k := bitsKey(bits[i])
		lo0, hi0 = min(lo0, k), max(hi0, k)
	}
	kl, kh := min(lo0, lo1, lo2, lo3), max(hi0, hi1, hi2, hi3)
	if kl <= keyNegInf || kh >= keyPosInf {
		for i, x := range data {
			if !isFinite32(x) {
				return 0, 0, &NonFiniteError{Index: i, Value: x}
			}
		}
	}
	return keyFloat(kl), keyFloat(kh), nil
}

// orderKey maps a float32 to an int32 whose signed order is IEEE 754
// totalOrder: negative floats have their magnitude bits flipped so that a
// larger magnitude gives a smaller key. On finite values that order is
// less32 (it puts -0 just below +0); -Inf and negative NaNs get keys at or
// below keyNegInf, +Inf and positive NaNs at or above keyPosInf.
func orderKey(x float32) int32 { return bitsKey(int32(math.Float32bits(x))) }

// bitsKey is orderKey on the bits of the float.
func bitsKey(b int32) int32 { return b ^ (b >> 31 & 0x7fffffff) }

// keyFloat inverts orderKey (the map is its own inverse on the bits).
func keyFloat(k int32) float32 {
	return math.Float32frombits(uint32(k ^ (k >> 31 & 0x7fffffff)))
}

// The keys of -Inf (bits 0xff800000) and +Inf (0x7f800000): every finite
// value's key lies strictly between.
const (
	keyNegInf int32 = -0x7f800001
	keyPosInf int32 = 0x7f800000
)

// min32 and max32 order under less32.
func min32(a, b float32) float32 {
	if less32(b, a) {
		return b
	}
	return a
}

func max32(a, b float32) float32 {
	if less32(a, b) {
		return b
	}
	return a
}

// batchRange checks a batch against its shape and returns its extrema; ok
// is false for an empty or rejected batch (err says which).
func batchRange(data []float32, shape []int) (lo, hi float32, ok bool, err error) {
	if err := checkShape(data, shape); err != nil {
		return 0, 0, false, err
	}
	if len(data) == 0 {
		return 0, 0, false, nil
	}
	lo, hi, err = extrema(data)
	return lo, hi, err == nil, err
}
