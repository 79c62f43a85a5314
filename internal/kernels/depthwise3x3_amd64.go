//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

//go:noescape
func dw3x3RowAVX512(r0, r1, r2, out *float32, n int, w *float32, b float32, stride, rows int)

// dw3x3Interior is dw3x3InteriorGo, 16 outputs at a time with AVX-512 for
// strides 1 and 2. Both sum bias then the products in the same order, so
// their bits agree.
func dw3x3Interior(rows [3][]float32, iw int, orow, wk []float32, b float32, sw int) {
	n := len(orow)
	if n == 0 || (sw != 1 && sw != 2) || !cpu.X86.HasAVX512F {
		dw3x3InteriorGo(rows, iw, orow, wk, b, sw)
		return
	}
	last := iw + sw*(n-1) + 2
	_ = wk[8]
	var ptr [3]*float32
	present := 0
	for k, r := range rows {
		if r == nil {
			continue
		}
		_ = r[last]
		ptr[k] = &r[iw]
		present |= 1 << k
	}
	if present == 0 {
		dw3x3InteriorGo(rows, iw, orow, wk, b, sw)
		return
	}
	for k := range ptr {
		if ptr[k] == nil {
			ptr[k] = &orow[0] // never read: its bit is clear
		}
	}
	dw3x3RowAVX512(ptr[0], ptr[1], ptr[2], &orow[0], n, &wk[0], b, sw, present)
}
