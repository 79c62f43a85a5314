//go:build amd64 && !purego

package gemm

import "golang.org/x/sys/cpu"

//go:noescape
func dotAVX512(n int, x, y *float32) float32

//go:noescape
func dotAVX2(n int, x, y *float32) float32

//go:noescape
func colsAVX512(k int, x, w *float32, ld int, acc *float32)

//go:noescape
func colsAVX2(k int, x, w *float32, ld int, acc *float32)

var (
	haveAVX512 = cpu.X86.HasAVX512F
	haveAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA
)

// dot returns x·y. The assembly sums whole registers; the ragged tail is
// added afterwards in k order. The order depends only on len(x).
func dot(x, y []float32) float32 {
	y = y[:len(x)]
	var s float32
	n := 0
	switch {
	case haveAVX512 && len(x) >= 16:
		n = len(x) &^ 15
		s = dotAVX512(n, &x[0], &y[0])
	case haveAVX2 && len(x) >= 8:
		n = len(x) &^ 7
		s = dotAVX2(n, &x[0], &y[0])
	default:
		return dotGo(x, y)
	}
	for i := n; i < len(x); i++ {
		s += float32(x[i] * y[i])
	}
	return s
}

// vecMat sets acc[j] = sum_p x[p]*w[p*ld+j] for j < len(acc), p < len(x),
// in p order with each product rounded before the add. The assembly takes
// whole strips of columns and the Go loop the rest; both round alike, so a
// column's value does not depend on which of them computed it.
func vecMat(x, w []float32, ld int, acc []float32) {
	k, n := len(x), len(acc)
	width, strip := 0, colsAVX2
	switch {
	case haveAVX512:
		width, strip = 64, colsAVX512
	case haveAVX2:
		width = 32
	}
	j := 0
	if width > 0 && k > 0 {
		// The last row read by a strip at j is w[(k-1)*ld+j : (k-1)*ld+j+width].
		for ; j+width <= n; j += width {
			_ = w[(k-1)*ld+j+width-1]
			strip(k, &x[0], &w[j], ld, &acc[j])
		}
	}
	vecMatGo(x, w, ld, acc[j:], j)
}

//go:noescape
func rowsAVX512(rows int, dst, src *float32, lds int, width int)

// copyRows copies kc rows of cols floats from b (row stride ldb) into d,
// rows back to back (width cols): a packed-B sliver. Whole slivers of the
// AVX-512 kernels' widths take the assembly loop, where a memmove call per
// 64 or 128 bytes cost more than the copy.
func copyRows(d, b []float32, ldb, kc, cols int) {
	if haveAVX512 && kc > 0 && (cols == 16 || cols == 32) {
		_, _ = d[kc*cols-1], b[(kc-1)*ldb+cols-1]
		rowsAVX512(kc, &d[0], &b[0], ldb, cols)
		return
	}
	copyRowsGo(d, b, ldb, kc, cols)
}
