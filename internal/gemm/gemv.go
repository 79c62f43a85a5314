package gemm

// Matrix-vector products cover the shapes where one side of C is 1 (a fully
// connected layer on one sample, a 1x1 output): a tile kernel would waste
// most of its lanes on zero padding there.

// gather copies the k-vector with stride (contiguous when contig) into dst.
// It is a column of a row-major matrix (stride ld) unless contig.
func gather(dst []float32, contig bool, x []float32, ld, k int) []float32 {
	dst = dst[:k]
	if contig {
		copy(dst, x[:k])
		return dst
	}
	for p := range dst {
		dst[p] = x[p*ld]
	}
	return dst
}

// gemv computes y[i*incy] = alpha*sum_p X(i,p)*x[p] + beta*y[i*incy] for
// i < rows, where X(i,p) is w[i*ld+p] when rowsContig, else w[p*ld+i].
func gemv(ws *workspace, rowsContig bool, rows, k int, alpha float32, w []float32, ld int, x []float32, beta float32, y []float32, incy int) {
	if rowsContig {
		for i := 0; i < rows; i++ {
			store(y, i*incy, float32(alpha*dot(w[i*ld:i*ld+k], x)), beta)
		}
		return
	}
	// Column-oriented: y is x times the stored k x rows matrix.
	acc := aligned64(&ws.rawTile, rows)
	vecMat(x, w, ld, acc)
	for i, v := range acc {
		store(y, i*incy, float32(alpha*v), beta)
	}
}

// vecMatGo sets acc[j] = sum_p x[p]*w[p*ld+j0+j] in p order, rounding each
// product before the add.
func vecMatGo(x, w []float32, ld int, acc []float32, j0 int) {
	clear(acc)
	if len(acc) == 0 {
		return
	}
	for p, xp := range x {
		axpyGo(xp, w[p*ld+j0:p*ld+j0+len(acc)], acc)
	}
}

func store(y []float32, i int, v, beta float32) {
	if beta != 0 {
		v += float32(beta * y[i])
	}
	y[i] = v
}

// dotGo returns x·y, summed in eight interleaved float32 partial sums that are
// combined pairwise at the end (a fixed order).
func dotGo(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	n := len(x) &^ 7
	for i := 0; i < n; i += 8 {
		xs := x[i : i+8 : i+8]
		ys := y[i : i+8 : i+8]
		s0 += float32(xs[0] * ys[0])
		s1 += float32(xs[1] * ys[1])
		s2 += float32(xs[2] * ys[2])
		s3 += float32(xs[3] * ys[3])
		s4 += float32(xs[4] * ys[4])
		s5 += float32(xs[5] * ys[5])
		s6 += float32(xs[6] * ys[6])
		s7 += float32(xs[7] * ys[7])
	}
	for i := n; i < len(x); i++ {
		s0 += float32(x[i] * y[i])
	}
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}

// axpyGo computes acc += alpha*x element-wise.
func axpyGo(alpha float32, x, acc []float32) {
	acc = acc[:len(x)]
	for i, v := range x {
		acc[i] += float32(alpha * v)
	}
}
