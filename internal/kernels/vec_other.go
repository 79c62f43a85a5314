//go:build !amd64 || purego

package kernels

// clipVector has no vector form here: the scalar loop does all of it.
func clipVector(out, s []float32, lo, hi float32) int { return 0 }

// reluVector has no vector form here: the scalar loop does all of it.
func reluVector(out, s []float32) int { return 0 }
