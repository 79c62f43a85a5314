//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

//go:noescape
func winogradInputRowAVX512(plane *float32, pw int, v *float32, stride, tw int)

//go:noescape
func winogradOutputRowAVX512(mt *float32, stride int, o *float32, ow, tw, cols, rows int, bias float32)

// winogradInputRow is winogradInputRowGo, 16 tiles at a time with
// AVX-512. The vector form reads up to winogradSlack floats past the 4
// rows, which the caller's plane provides.
func winogradInputRow(plane []float32, pw int, v []float32, stride, tw int) {
	if !cpu.X86.HasAVX512F || tw == 0 {
		winogradInputRowGo(plane, pw, v, stride, tw)
		return
	}
	_ = plane[4*pw+winogradSlack-1]
	_ = v[15*stride+tw-1]
	winogradInputRowAVX512(&plane[0], pw, &v[0], stride, tw)
}

// winogradOutputRow is winogradOutputRowGo, 16 tiles at a time with
// AVX-512 (masked loads and stores: it touches nothing past the tiles).
func winogradOutputRow(mt []float32, stride int, o []float32, OW, tw, rows int, bias float32) {
	if !cpu.X86.HasAVX512F || tw == 0 {
		winogradOutputRowGo(mt, stride, o, OW, tw, rows, bias)
		return
	}
	_ = mt[15*stride+tw-1]
	_ = o[(rows-1)*OW+OW-1]
	winogradOutputRowAVX512(&mt[0], stride, &o[0], OW, tw, OW, rows, bias)
}
