//go:build !amd64 || purego

package observe

// keyRangeVector has no vector form here: the scalar loop does all of it.
func keyRangeVector(bits []int32, lo, hi int32) (int32, int32, int) { return lo, hi, 0 }
