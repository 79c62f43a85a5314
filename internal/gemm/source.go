package gemm

import "runtime"

// BPacker produces op(B) straight into the micro-kernel's packed layout, for
// a B that is cheaper to generate block by block than to store whole (the
// im2col matrix of a convolution: generating each K x N block just before
// the kernel reads it keeps it in cache, where a stored im2col matrix makes
// a round trip through memory and is then copied once more by packing).
//
// PackB must write rows [p0, p0+kc) and columns [j0, j0+nc) of op(B) into
// dst as ceil(nc/nr) slivers of kc*nr floats: element (p0+p, j0+s*nr+j) at
// dst[s*nr*kc+p*nr+j], with the columns of the last sliver past nc set to
// zero. It is called from the goroutines of one SgemmSource call at once,
// each with its own dst, so it must not write shared state.
type BPacker interface {
	PackB(dst []float32, p0, kc, j0, nc, nr int)
}

// SgemmSource is SgemmPacked with op(B) (k x n) produced by src instead of
// read from a matrix. Because src writes exactly the panels SgemmPacked
// would pack, the result is bit-identical to SgemmPacked on the same B for
// every worker count. It needs the packed path: pa.Rows() >= 2 and n >= 2
// (smaller products have no panels to fill); it panics otherwise, like on
// any other inconsistent argument.
func SgemmSource(workers int, pa *PackedA, n int, alpha float32, src BPacker, beta float32, c []float32, ldc int) {
	m, k := pa.m, pa.k
	if pa.data == nil || n < 2 {
		panic("gemm: SgemmSource needs a packed A with m >= 2 and n >= 2")
	}
	if src == nil {
		panic("gemm: SgemmSource: nil BPacker")
	}
	checkMatrix("C", false, m, n, c, ldc)
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	call := gemmCall{kern: pa.kern, path: blocked, transA: pa.transA, k: k, alpha: alpha,
		a: pa.a, lda: pa.lda, beta: beta, c: c, ldc: ldc, packed: pa, src: src}
	call.split(workers, m, n)
}
