package gemm

import (
	"sync"
	"unsafe"
)

// Cache blocking. kc*nr floats of packed B (one sliver) stay in L1 while the
// kernel sweeps the mc x kc block of packed A held in L2; nc bounds the packed
// B block (L3). mcMul and ncMul are in units of the kernel's mr and nr so that
// block and tile boundaries stay aligned to the global tile grid (needed for
// results that do not depend on how C is split between workers).
const (
	kcBlock = 256
	mcTiles = 16  // mc = mcTiles*mr
	ncTiles = 128 // nc = ncTiles*nr
)

// workspace holds one goroutine's packing buffers. The raw slices are kept
// so that a pooled workspace is reused as is; the views actually used start
// on a 64-byte boundary (one cache line, one ZMM register).
type workspace struct {
	rawA    []float32 // packed A block (or the gathered vector of a matrix-vector product)
	rawB    []float32 // packed B block (likewise)
	rawTile []float32 // scratch for ragged edge tiles and matrix-vector sums
}

var workspaces = sync.Pool{New: func() any { return new(workspace) }}

// aligned64 returns n floats of *raw starting on a 64-byte boundary, growing
// *raw when it is too small.
func aligned64(raw *[]float32, n int) []float32 {
	if cap(*raw) < n+15 {
		*raw = make([]float32, n+15)
	}
	buf := (*raw)[:cap(*raw)]
	off := int(uintptr(unsafe.Pointer(&buf[0]))%64) / 4
	if off != 0 {
		off = 16 - off
	}
	return buf[off : off+n]
}

// prepacked is A packed ahead of the call (PackA), seen from a worker whose
// share of C starts at row row0 of op(A) (a multiple of mr); pa nil means A
// is packed block by block here. src, when set, packs the B blocks instead
// of b, for the worker's share of C starting at column col0 of op(B).
type prepacked struct {
	pa   *PackedA
	row0 int
	src  BPacker
	col0 int
}

// gemmBlocked computes C = alpha*op(A)*op(B) + beta*C for m, n, k >= 1 and
// alpha != 0 with micro-kernel kern, on the calling goroutine.
func gemmBlocked(kern *microKernel, ws *workspace, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemmBlockedFrom(kern, ws, transA, transB, m, n, k, alpha, prepacked{}, a, lda, b, ldb, beta, c, ldc)
}

// gemmBlockedFrom is gemmBlocked taking the A panels from pre when it is set
// (a is then unused) instead of packing them block by block.
func gemmBlockedFrom(kern *microKernel, ws *workspace, transA, transB bool, m, n, k int, alpha float32, pre prepacked, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	mr, nr := kern.mr, kern.nr
	mcMax, ncMax := mcTiles*mr, ncTiles*nr
	kcMax := min(kcBlock, k)
	ncCap := min(ncMax, roundUp(n, nr))
	mcCap := min(mcMax, roundUp(m, mr))
	var pa []float32
	if pre.pa == nil {
		pa = aligned64(&ws.rawA, mcCap*kcMax)
	}
	pb := aligned64(&ws.rawB, ncCap*kcMax)
	tile := aligned64(&ws.rawTile, mr*nr)

	for jc := 0; jc < n; jc += ncMax {
		nc := min(ncMax, n-jc)
		for pc := 0; pc < k; pc += kcBlock {
			kc := min(kcBlock, k-pc)
			switch {
			case pre.src != nil:
				pre.src.PackB(pb, pc, kc, pre.col0+jc, nc, nr)
			case transB:
				packB(pb, true, b[jc*ldb+pc:], ldb, kc, nc, nr)
			default:
				packB(pb, false, b[pc*ldb+jc:], ldb, kc, nc, nr)
			}
			// Later K blocks accumulate onto the partial sums in C.
			bet := beta
			if pc > 0 {
				bet = 1
			}
			for ic := 0; ic < m; ic += mcMax {
				mc := min(mcMax, m-ic)
				switch {
				case pre.pa != nil:
					pa = pre.pa.block(pc, kc, pre.row0+ic, mc)
				case transA:
					packA(pa, true, a[pc*lda+ic:], lda, mc, kc, mr)
				default:
					packA(pa, false, a[ic*lda+pc:], lda, mc, kc, mr)
				}
				for jr := 0; jr < nc; jr += nr {
					cols := min(nr, nc-jr)
					bs := pb[jr*kc : (jr+nr)*kc]
					for ir := 0; ir < mc; ir += mr {
						rows := min(mr, mc-ir)
						as := pa[ir*kc : (ir+mr)*kc]
						co := (ic+ir)*ldc + jc + jr
						if cols == nr {
							kern.run(kc, as, bs, c[co:], ldc, alpha, bet, rows)
							continue
						}
						// Ragged right edge: compute the whole tile into
						// scratch, then merge the part inside C.
						kern.run(kc, as, bs, tile, nr, 1, 0, rows)
						mergeTile(c[co:], ldc, tile, nr, rows, cols, alpha, bet)
					}
				}
			}
		}
	}
}

// mergeTile applies C = alpha*t + beta*C to the rows x cols corner of a
// ragged edge tile computed into scratch t.
func mergeTile(c []float32, ldc int, t []float32, ldt, rows, cols int, alpha, beta float32) {
	for i := 0; i < rows; i++ {
		cr := c[i*ldc : i*ldc+cols]
		tr := t[i*ldt : i*ldt+cols]
		for j, v := range tr {
			x := float32(alpha * v)
			if beta != 0 {
				x += float32(beta * cr[j])
			}
			cr[j] = x
		}
	}
}

// scaleC computes C = beta*C for the m x n matrix C; beta == 0 clears it
// without reading (so NaNs in C do not survive, as in BLAS).
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		switch beta {
		case 0:
			clear(row)
		case 1:
		default:
			for j := range row {
				row[j] *= beta
			}
		}
	}
}

func roundUp(x, to int) int { return (x + to - 1) / to * to }
