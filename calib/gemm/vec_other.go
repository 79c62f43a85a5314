//go:build !amd64 || purego

package gemm

func dot(x, y []float32) float32           { return dotGo(x, y) }
func axpy(alpha float32, x, acc []float32) { axpyGo(alpha, x, acc) }
