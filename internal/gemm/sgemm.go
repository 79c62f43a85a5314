package gemm

import (
	"fmt"
	"runtime"
	"sync"
)

// kernel is the micro-kernel for this CPU, chosen once at start-up and never
// changed afterwards.
var kernel = availableKernels()[0]

// narrow is the kernel for products with few columns (nil without one).
var narrow = narrowKernelFor()

// KernelName reports which micro-kernel Sgemm uses on this machine (for
// logs and benchmarks), e.g. "avx512-12x32", "avx2-6x16" or "go4x4".
func KernelName() string { return kernel.name }

// Sgemm computes C = alpha*op(A)*op(B) + beta*C on the calling goroutine,
// where op(X) is X or its transpose. Matrices are row-major: op(A) is m x k,
// op(B) is k x n, C is m x n, and element (i, j) of a stored matrix X with
// leading dimension ldx is x[i*ldx+j]. As in BLAS, beta == 0 overwrites C
// without reading it, and alpha == 0 does not read A or B.
//
// Sgemm panics if a dimension is negative, a leading dimension is smaller
// than its row length, or a slice is too short: these are programming errors
// in the caller, not conditions of the input model.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	SgemmParallel(1, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// minParallelFlops is the smallest product worth splitting across goroutines.
const minParallelFlops = 1 << 20

// SgemmParallel is Sgemm using up to workers goroutines: workers == 1 runs
// on the calling goroutine, workers <= 0 means runtime.GOMAXPROCS(0). Small
// products run on one goroutine whatever workers says. The work is split over whole tiles of C (rows or
// columns, whichever has more), never over K, so the result is bit-identical
// for every worker count.
func SgemmParallel(workers int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkArgs(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if m == 0 || n == 0 {
		return
	}
	if alpha == 0 || k == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	// The algorithm is chosen from the whole problem's shape, never from a
	// worker's share of it (a one-row share must still use the tile grid).
	kern, path := &kernel, blocked
	switch {
	case n == 1:
		path = columnVector
	case m == 1:
		path = rowVector
	}
	call := gemmCall{kern: kern, path: path, transA: transA, transB: transB, k: k, alpha: alpha,
		a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc}
	call.split(workers, m, n)
}

// split runs the m x n product over up to workers goroutines (workers >= 1).
func (g *gemmCall) split(workers, m, n int) {
	// Units along M and N that a worker's share must be a multiple of, so
	// each element of C sees the same tile grid for any worker count.
	unitM, unitN := g.kern.mr, g.kern.nr
	if g.path != blocked {
		unitM, unitN = 1, 1
	}
	parts := 1
	if workers > 1 && 2*int64(m)*int64(n)*int64(g.k) >= minParallelFlops {
		parts = workers
	}
	splitM := ceilDiv(m, unitM) > ceilDiv(n, unitN)
	units := ceilDiv(n, unitN)
	if splitM {
		units = ceilDiv(m, unitM)
	}
	parts = min(parts, units)

	if parts <= 1 {
		g.run(0, m, 0, n)
		return
	}
	// The workers share a copy, so the single-goroutine path above keeps
	// the call on the caller's stack.
	shared := *g
	var wg sync.WaitGroup
	for w := 0; w < parts; w++ {
		// Share units as evenly as possible; worker w gets [u0, u1).
		u0, u1 := w*units/parts, (w+1)*units/parts
		if u0 == u1 {
			continue
		}
		i0, i1, j0, j1 := 0, m, 0, n
		if splitM {
			i0, i1 = u0*unitM, min(u1*unitM, m)
		} else {
			j0, j1 = u0*unitN, min(u1*unitN, n)
		}
		wg.Go(func() { shared.run(i0, i1, j0, j1) })
	}
	wg.Wait()
}

// gemmCall holds the arguments of one Sgemm call, so that workers can each
// run a block of C (and the single-worker path does not allocate a closure).
type gemmCall struct {
	kern           *microKernel
	path           algorithm
	transA, transB bool
	k              int
	alpha          float32
	a              []float32
	lda            int
	b              []float32
	ldb            int
	beta           float32
	c              []float32
	ldc            int
	// packed, when set, holds A already packed (path blocked only); a and
	// lda are then not sliced per worker, the row offset is passed instead.
	packed *PackedA
	// src, when set (with packed), produces the packed B blocks; b and ldb
	// are then unused and the column offset is passed instead.
	src BPacker
}

// run computes rows [i0,i1) and columns [j0,j1) of C.
func (g *gemmCall) run(i0, i1, j0, j1 int) {
	a, b, c := g.a, g.b, g.c
	if i0 > 0 {
		if g.packed == nil {
			a = a[offset(g.transA, i0, 0, g.lda):]
		}
		c = c[i0*g.ldc:]
	}
	if j0 > 0 {
		if g.src == nil {
			b = b[offset(g.transB, 0, j0, g.ldb):]
		}
		c = c[j0:]
	}
	if g.packed != nil {
		ws := workspaces.Get().(*workspace)
		pre := prepacked{pa: g.packed, row0: i0, src: g.src, col0: j0}
		gemmBlockedFrom(g.kern, ws, g.transA, g.transB, i1-i0, j1-j0, g.k, g.alpha, pre, a, g.lda, b, g.ldb, g.beta, c, g.ldc)
		workspaces.Put(ws)
		return
	}
	gemmRange(g.kern, g.path, g.transA, g.transB, i1-i0, j1-j0, g.k, g.alpha, a, g.lda, b, g.ldb, g.beta, c, g.ldc)
}

// offset is the index in a stored matrix of element (i, p) of op(X) when
// only the row i of op(X) (from A) or the column p (from B) moves: it maps a
// sub-matrix origin of op(X) to the stored layout.
func offset(trans bool, row, col, ld int) int {
	if trans {
		return col*ld + row
	}
	return row*ld + col
}

// algorithm is how a call computes C.
type algorithm int

const (
	blocked      algorithm = iota // packed panels and the tile micro-kernel
	columnVector                  // n == 1: C is a column, one dot product per row
	rowVector                     // m == 1: C is a row
)

// gemmRange dispatches one worker's sub-problem (m, n, k >= 1, alpha != 0).
func gemmRange(kern *microKernel, path algorithm, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ws := workspaces.Get().(*workspace)
	defer workspaces.Put(ws)
	switch path {
	case columnVector:
		// C is a column: c[i] = alpha*op(A)[i,:]·op(B)[:,0] + beta*c[i].
		x := gather(aligned64(&ws.rawB, k), transB, b, ldb, k)
		gemv(ws, !transA, m, k, alpha, a, lda, x, beta, c, ldc)
	case rowVector:
		// C is a row: c[j] = alpha*op(A)[0,:]·op(B)[:,j] + beta*c[j],
		// i.e. op(B)^T times a vector.
		x := gather(aligned64(&ws.rawA, k), !transA, a, lda, k)
		gemv(ws, transB, n, k, alpha, b, ldb, x, beta, c, 1)
	default:
		gemmBlocked(kern, ws, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
}

func checkArgs(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("gemm: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	checkMatrix("A", transA, m, k, a, lda)
	checkMatrix("B", transB, k, n, b, ldb)
	checkMatrix("C", false, m, n, c, ldc)
}

// checkMatrix validates the storage of a rows x cols operand op(X).
func checkMatrix(name string, trans bool, rows, cols int, x []float32, ld int) {
	if trans {
		rows, cols = cols, rows
	}
	if ld < max(1, cols) {
		panic(fmt.Sprintf("gemm: leading dimension of %s is %d, want >= %d", name, ld, max(1, cols)))
	}
	if rows == 0 || cols == 0 {
		return
	}
	if need := (rows-1)*ld + cols; len(x) < need {
		panic(fmt.Sprintf("gemm: %s has %d elements, want >= %d (%dx%d, ld %d)", name, len(x), need, rows, cols, ld))
	}
}

func ceilDiv(x, y int) int { return (x + y - 1) / y }
