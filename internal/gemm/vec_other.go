//go:build !amd64 || purego

package gemm

func dot(x, y []float32) float32 { return dotGo(x, y) }

func vecMat(x, w []float32, ld int, acc []float32) { vecMatGo(x, w, ld, acc, 0) }

func copyRows(d, b []float32, ldb, kc, cols int) { copyRowsGo(d, b, ldb, kc, cols) }
