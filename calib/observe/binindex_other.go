//go:build !amd64 || purego

package observe

// binIndexVector has no vector form here: bin's scalar loop does all of it.
func binIndexVector(data []float32, scale float64, off int32, idx []int32) int { return 0 }
