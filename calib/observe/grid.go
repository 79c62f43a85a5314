package observe

import "math"

// The histogram grid: at level e, cell k holds the values x with
// floor(x / 2^e) == k. See the package doc for why this makes merges exact.

// minLevel is the level used when every value seen is zero. It is below
// the floor of any non-zero data (the smallest float32 subnormal, 2^-149,
// has floor level -148-41 = -189), which keeps levelFor monotone.
const minLevel = -190

// floorBits bounds |cell index| by 2^floorBits: the level never goes below
// exponent(max|x|) - floorBits, so indices fit easily in int64 and
// x * 2^-e is exact in float64.
const floorBits = 41

// cellOf returns floor(x / 2^e). Scaling by a power of two is exact in
// float64 for every float32 x and every level used here, and so is the
// floor, so the index is exact.
func cellOf(x float32, e int) int64 {
	return int64(math.Floor(math.Ldexp(float64(x), -e)))
}

// levelFor returns the canonical level for data spanning [lo, hi] with
// bins cells: the smallest level not below the magnitude floor at which
// cellOf(hi) - cellOf(lo) < bins. It is monotone: a wider [lo, hi] never
// gets a finer level, which is what makes coarsening on merge exact.
func levelFor(lo, hi float32, bins int) int {
	a := math.Max(math.Abs(float64(lo)), math.Abs(float64(hi)))
	e := minLevel
	if a > 0 {
		_, exp := math.Frexp(a) // a in [2^(exp-1), 2^exp)
		e = exp - floorBits
	}
	if span := float64(hi) - float64(lo); span > 0 {
		// An under-estimate: at the canonical level 2^e*bins > span, so
		// e > log2(span/bins). The loop below makes it exact.
		if g := int(math.Floor(math.Log2(span/float64(bins)))) - 1; g > e {
			e = g
		}
	}
	for cellOf(hi, e)-cellOf(lo, e) >= int64(bins) {
		e++
	}
	return e
}
