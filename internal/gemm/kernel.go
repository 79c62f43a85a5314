package gemm

// microKernel multiplies packed panels into one mr x nr tile of C:
//
//	C[i*ldc+j] = alpha * sum_p a[p*mr+i]*b[p*nr+j] + beta*C[i*ldc+j]
//
// for i < rows (1 <= rows <= mr), j < nr, p < k, summing over p in
// increasing order in float32. beta == 0 must not read C. The caller
// guarantees len(a) >= k*mr, len(b) >= k*nr and len(c) >= (rows-1)*ldc+nr.
type microKernel struct {
	name string
	mr   int
	nr   int
	run  func(k int, a, b, c []float32, ldc int, alpha, beta float32, rows int)
}

// goKernel is the portable micro-kernel, also available on amd64 so tests can
// check it against the assembly.
var goKernel = microKernel{name: "go4x4", mr: 4, nr: 4, run: kernGo4x4}

// kernGo4x4 keeps the 16 accumulators in locals so the compiler can hold them
// in registers.
func kernGo4x4(k int, a, b, c []float32, ldc int, alpha, beta float32, rows int) {
	var c00, c01, c02, c03 float32
	var c10, c11, c12, c13 float32
	var c20, c21, c22, c23 float32
	var c30, c31, c32, c33 float32
	a = a[:k*4]
	b = b[:k*4]
	for p := 0; p < len(a); p += 4 {
		ap := a[p : p+4 : p+4]
		bp := b[p : p+4 : p+4]
		a0, a1, a2, a3 := ap[0], ap[1], ap[2], ap[3]
		b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
		// Explicit float32 conversions force the product to be rounded on
		// its own, so every architecture sums the same values (no FMA fusion).
		c00 += float32(a0 * b0)
		c01 += float32(a0 * b1)
		c02 += float32(a0 * b2)
		c03 += float32(a0 * b3)
		c10 += float32(a1 * b0)
		c11 += float32(a1 * b1)
		c12 += float32(a1 * b2)
		c13 += float32(a1 * b3)
		c20 += float32(a2 * b0)
		c21 += float32(a2 * b1)
		c22 += float32(a2 * b2)
		c23 += float32(a2 * b3)
		c30 += float32(a3 * b0)
		c31 += float32(a3 * b1)
		c32 += float32(a3 * b2)
		c33 += float32(a3 * b3)
	}
	storeRow4(c[0*ldc:0*ldc+4], c00, c01, c02, c03, alpha, beta)
	if rows > 1 {
		storeRow4(c[1*ldc:1*ldc+4], c10, c11, c12, c13, alpha, beta)
	}
	if rows > 2 {
		storeRow4(c[2*ldc:2*ldc+4], c20, c21, c22, c23, alpha, beta)
	}
	if rows > 3 {
		storeRow4(c[3*ldc:3*ldc+4], c30, c31, c32, c33, alpha, beta)
	}
}

func storeRow4(c []float32, x0, x1, x2, x3, alpha, beta float32) {
	c = c[:4]
	if beta == 0 {
		c[0] = float32(alpha * x0)
		c[1] = float32(alpha * x1)
		c[2] = float32(alpha * x2)
		c[3] = float32(alpha * x3)
		return
	}
	c[0] = float32(beta*c[0]) + float32(alpha*x0)
	c[1] = float32(beta*c[1]) + float32(alpha*x1)
	c[2] = float32(beta*c[2]) + float32(alpha*x2)
	c[3] = float32(beta*c[3]) + float32(alpha*x3)
}
