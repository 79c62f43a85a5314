package kernels

import "github.com/onnxquant/onnxquant/internal/gemm"

// sgemm computes C = alpha*op(A)*op(B) + beta*C on row-major slices. It is the
// single GEMM entry point of the package, so the implementation (internal/gemm)
// can be swapped in one place.
func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	gemm.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// sgemmParallel is sgemm over up to workers goroutines; internal/gemm splits only
// independent output blocks, so the result does not depend on workers.
func sgemmParallel(workers int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	gemm.SgemmParallel(max(workers, 1), transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
