package gemm

import "runtime"

// PackedA is the A operand of a product packed once, ahead of the calls that
// use it, for a matrix that does not change between calls (a convolution's
// weights, a layer's constant matrix). Packing is a plain copy that costs a
// read and a write of the whole of A on every Sgemm call; for a weight
// multiplied by a fresh B per sample that is work repeated for nothing.
//
// The panels hold exactly what gemmBlocked would pack on each call: for each
// K block of kcBlock (the last one shorter), ceil(m/mr) slivers of mr rows,
// so SgemmPacked sums every element of C in the same order as Sgemm and the
// results are bit-identical.
//
// A PackedA is read-only once built and may be used by any number of
// goroutines at once.
type PackedA struct {
	transA bool
	m, k   int
	// a and lda are the source, still needed by the matrix-vector paths
	// (n == 1 or m == 1), which read A in place.
	a    []float32
	lda  int
	kern *microKernel
	// mPad is m rounded up to the kernel's mr: K block pc (a multiple of
	// kcBlock) starts at data[pc*mPad], and its sliver s at
	// data[pc*mPad+s*mr*kc] where kc is that block's depth.
	mPad int
	data []float32 // nil when m <= 1 (a row vector is never packed)
}

// PackA packs op(A), the m x k matrix stored in a with leading dimension lda
// (transposed when transA), for SgemmPacked. It keeps a reference to a for
// the products that read A in place (n == 1), so a must not change while the
// PackedA is in use. Like Sgemm, it panics on inconsistent arguments.
func PackA(transA bool, m, k int, a []float32, lda int) *PackedA {
	return packAWith(&kernel, transA, m, k, a, lda)
}

// PackAFor is PackA for products with about n columns: it picks the
// micro-kernel (and so the panel layout) that computes such products
// fastest. Today that matters for n <= 16, where the AVX-512 kernel's 32
// columns would be half wasted and a 28x16 kernel is used instead.
// Results are those of Sgemm run with the same kernel; they may differ in
// the last bits from PackA's, whose kernel sums in another order.
//
// Unlike PackA it keeps no reference to a once the panels are built, so a
// may be dropped or reused: single-column products then run on the panels
// too, instead of reading A in place.
func PackAFor(transA bool, m, k int, a []float32, lda int, n int) *PackedA {
	pa := packAWith(kernelFor(m, n), transA, m, k, a, lda)
	if pa.data != nil {
		pa.a, pa.lda = nil, 0
	}
	return pa
}

// TileFor reports the tile (rows of op(A) by columns of op(B)) of the
// micro-kernel PackAFor uses for an m x n product. The product costs about
// as much as one with m and n rounded up to these, which callers choosing
// between algorithms need to know.
func TileFor(m, n int) (mr, nr int) {
	kern := kernelFor(m, n)
	return kern.mr, kern.nr
}

// kernelFor is the kernel computing an m x n product with the fewer
// multiply-adds once the ragged edges are rounded up to whole tiles,
// keeping the default unless the narrow one saves a fifth or more.
func kernelFor(m, n int) *microKernel {
	if narrow == nil {
		return &kernel
	}
	wide := roundUp(m, kernel.mr) * roundUp(n, kernel.nr)
	if 5*roundUp(m, narrow.mr)*roundUp(n, narrow.nr) <= 4*wide {
		return narrow
	}
	return &kernel
}

func packAWith(kern *microKernel, transA bool, m, k int, a []float32, lda int) *PackedA {
	if m < 0 || k < 0 {
		panic("gemm: PackA: negative dimension")
	}
	checkMatrix("A", transA, m, k, a, lda)
	pa := &PackedA{transA: transA, m: m, k: k, a: a, lda: lda, kern: kern}
	if m <= 1 || k == 0 {
		return pa
	}
	mr := pa.kern.mr
	pa.mPad = roundUp(m, mr)
	var raw []float32
	pa.data = aligned64(&raw, pa.mPad*k)
	for pc := 0; pc < k; pc += kcBlock {
		kc := min(kcBlock, k-pc)
		dst := pa.data[pc*pa.mPad : pc*pa.mPad+pa.mPad*kc]
		if transA {
			packA(dst, true, a[pc*lda:], lda, m, kc, mr)
		} else {
			packA(dst, false, a[pc:], lda, m, kc, mr)
		}
	}
	return pa
}

// Rows reports the number of rows of op(A) (the product's M).
func (pa *PackedA) Rows() int { return pa.m }

// Cols reports the number of columns of op(A) (the product's K).
func (pa *PackedA) Cols() int { return pa.k }

// block returns the packed slivers of K block pc (depth kc) covering rows
// [row, row+mc) of op(A); row is a multiple of mr.
func (pa *PackedA) block(pc, kc, row, mc int) []float32 {
	off := pc*pa.mPad + row*kc
	return pa.data[off : off+roundUp(mc, pa.kern.mr)*kc]
}

// SgemmPacked is SgemmParallel with A taken from pa: C = alpha*op(A)*op(B) +
// beta*C, op(A) being pa's m x k matrix, op(B) k x n and C m x n. With pa
// from PackA the result is bit-identical to SgemmParallel (and Sgemm)
// called with pa's source matrix; with pa from PackAFor, to the same with
// PackAFor's kernel. Either way it does not depend on the worker count.
func SgemmPacked(workers int, pa *PackedA, transB bool, n int, alpha float32, b []float32, ldb int, beta float32, c []float32, ldc int) {
	m, k := pa.m, pa.k
	if pa.data == nil || (n <= 1 && pa.a != nil) {
		// The paths that never pack A (vector products, no product at all).
		SgemmParallel(workers, pa.transA, transB, m, n, k, alpha, pa.a, pa.lda, b, ldb, beta, c, ldc)
		return
	}
	checkMatrix("B", transB, k, n, b, ldb)
	checkMatrix("C", false, m, n, c, ldc)
	if alpha == 0 || n == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	call := gemmCall{kern: pa.kern, path: blocked, transA: pa.transA, transB: transB, k: k, alpha: alpha,
		a: pa.a, lda: pa.lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, packed: pa}
	call.split(workers, m, n)
}
