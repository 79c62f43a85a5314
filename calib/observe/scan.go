package observe

import (
	"fmt"
	"math"
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
func extrema(data []float32) (lo, hi float32, err error) {
	lo, hi = data[0], data[0]
	for i, x := range data {
		if !isFinite32(x) {
			return 0, 0, &NonFiniteError{Index: i, Value: x}
		}
		if less32(x, lo) {
			lo = x
		}
		if less32(hi, x) {
			hi = x
		}
	}
	return lo, hi, nil
}

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
