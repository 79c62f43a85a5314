//go:build !amd64 || purego

package kernels

func dw3x3Interior(rows [3][]float32, iw int, orow, wk []float32, b float32, sw int) {
	dw3x3InteriorGo(rows, iw, orow, wk, b, sw)
}
