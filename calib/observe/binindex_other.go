//go:build !amd64 || purego

package observe

// binPack has no vector form here: bin's scalar loop does all of it.
func binPack(data []float32, scale float64, single bool, off, hot0, hot1 int32, idx []int32) (n, kept, hits0, hits1 int) {
	return 0, 0, 0, 0
}
