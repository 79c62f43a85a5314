//go:build amd64 && !purego

package gemm

import "golang.org/x/sys/cpu"

//go:noescape
func dotAVX512(n int, x, y *float32) float32

//go:noescape
func dotAVX2(n int, x, y *float32) float32

//go:noescape
func axpyAVX2(n int, alpha float32, x, acc *float32)

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

// axpy computes acc += alpha*x element-wise, each element rounded as
// float32(alpha*x[i]) + acc[i] whichever path handles it.
func axpy(alpha float32, x, acc []float32) {
	acc = acc[:len(x)]
	n := 0
	if haveAVX2 && len(x) >= 32 {
		n = len(x) &^ 31
		axpyAVX2(n, alpha, &x[0], &acc[0])
	}
	axpyGo(alpha, x[n:], acc[n:])
}
