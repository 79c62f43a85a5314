package gemm

// Packing copies a block of op(A) or op(B) into the layout the micro-kernel
// streams through: slivers of mr rows (A) or nr columns (B), each stored
// k-step by k-step, zero-padded at the ragged edge so the kernel never
// branches on size.

// packA packs rows [0,mc) and columns [0,kc) of op(A), whose element (i,p) is
// a[i*lda+p] (or a[p*lda+i] when transposed), into dst as ceil(mc/mr) slivers
// of kc*mr floats.
func packA(dst []float32, trans bool, a []float32, lda, mc, kc, mr int) {
	for s := 0; s*mr < mc; s++ {
		rows := min(mr, mc-s*mr)
		d := dst[s*mr*kc : (s+1)*mr*kc]
		if rows < mr {
			clear(d)
		}
		i0 := s * mr
		if !trans {
			for i := 0; i < rows; i++ {
				src := a[(i0+i)*lda : (i0+i)*lda+kc]
				for p, v := range src {
					d[p*mr+i] = v
				}
			}
			continue
		}
		for p := 0; p < kc; p++ {
			copy(d[p*mr:p*mr+rows], a[p*lda+i0:p*lda+i0+rows])
		}
	}
}

// packB packs rows [0,kc) and columns [0,nc) of op(B), whose element (p,j) is
// b[p*ldb+j] (or b[j*ldb+p] when transposed), into dst as ceil(nc/nr) slivers
// of kc*nr floats.
func packB(dst []float32, trans bool, b []float32, ldb, kc, nc, nr int) {
	for s := 0; s*nr < nc; s++ {
		cols := min(nr, nc-s*nr)
		d := dst[s*nr*kc : (s+1)*nr*kc]
		if cols < nr {
			clear(d)
		}
		j0 := s * nr
		if !trans {
			if cols == nr {
				copyRows(d, b[j0:], ldb, kc, nr)
				continue
			}
			for p := 0; p < kc; p++ {
				copy(d[p*nr:p*nr+cols], b[p*ldb+j0:p*ldb+j0+cols])
			}
			continue
		}
		for j := 0; j < cols; j++ {
			src := b[(j0+j)*ldb : (j0+j)*ldb+kc]
			for p, v := range src {
				d[p*nr+j] = v
			}
		}
	}
}

// copyRowsGo is copyRows without assembly.
func copyRowsGo(d, b []float32, ldb, kc, cols int) {
	for p := 0; p < kc; p++ {
		copy(d[p*cols:(p+1)*cols], b[p*ldb:p*ldb+cols])
	}
}
