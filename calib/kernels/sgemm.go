package kernels

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// sgemm computes C = alpha*op(A)*op(B) + beta*C on row-major slices. It is the
// single GEMM entry point of the package so the implementation can be swapped
// (gonum today, calib/gemm when it lands) in one place.
func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			for j := range row {
				row[j] *= beta
			}
		}
		return
	}
	// gonum computes transposed-B products as dot products whose blocking depends on
	// the matrix size; materialising the transposes keeps every product on the
	// axpy path, where each C element sees the same operations however C is split.
	if transA {
		a, lda = transposed(a, lda, k, m), k
	}
	if transB {
		b, ldb = transposed(b, ldb, n, k), n
	}
	blas32.Gemm(blas.NoTrans, blas.NoTrans, alpha,
		blas32.General{Rows: m, Cols: k, Stride: lda, Data: a[:(m-1)*lda+k]},
		blas32.General{Rows: k, Cols: n, Stride: ldb, Data: b[:(k-1)*ldb+n]},
		beta,
		blas32.General{Rows: m, Cols: n, Stride: ldc, Data: c[:(m-1)*ldc+n]})
}

// transposed returns the cols×rows transpose of the rows×cols matrix x (leading dimension ld).
func transposed(x []float32, ld, rows, cols int) []float32 {
	t := make([]float32, rows*cols)
	for i := 0; i < rows; i++ {
		row := x[i*ld : i*ld+cols]
		for j, v := range row {
			t[j*rows+i] = v
		}
	}
	return t
}

// sgemmParallel is sgemm with the columns of C split across workers. Each C
// element is computed by the same sequence of operations whatever the split, so
// the result is independent of workers.
func sgemmParallel(workers int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if workers <= 1 || n < 64 {
		sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	parallelFor(workers, n, func(lo, hi int) {
		boff := lo
		if transB {
			boff = lo * ldb
		}
		sgemm(transA, transB, m, hi-lo, k, alpha, a, lda, b[boff:], ldb, beta, c[lo:], ldc)
	})
}
