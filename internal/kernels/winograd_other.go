//go:build !amd64 || purego

package kernels

func winogradInputRow(plane []float32, pw int, v []float32, stride, tw int) {
	winogradInputRowGo(plane, pw, v, stride, tw)
}

func winogradOutputRow(mt []float32, stride int, o []float32, OW, tw, rows int, bias float32) {
	winogradOutputRowGo(mt, stride, o, OW, tw, rows, bias)
}
