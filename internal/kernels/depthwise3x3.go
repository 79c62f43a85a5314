package kernels

// depthwise3x3 is convDepthwise for the common 2-D case (MobileNet's):
// 3x3 taps, no dilation, any stride and padding. convDepthwise adds one tap
// at a time over whole output rows, which streams every output row nine
// times through memory; here each output value is summed in a register.
// The sum is the same expression in the same order (bias or +0, then the
// taps that fall inside the input, row by row), so the bits match.
func depthwise3x3(xs, ws, bias, out []float32, N, C, mult int, g geom, workers int) {
	M := C * mult
	H, W := g.in[1], g.in[2]
	OH, OW := g.out[1], g.out[2]
	sh, sw, ph, pw := g.s[1], g.s[2], g.pb[1], g.pb[2]
	// Output columns whose three taps all fall inside a row.
	owLo := min((pw+sw-1)/sw, OW)
	owHi := max(min((W-3+pw)/sw+1, OW), owLo)
	if W < 3 {
		owHi = owLo
	}
	parallelFor(workers, N*M, func(lo, hi int) {
		for nm := lo; nm < hi; nm++ {
			n, m := nm/M, nm%M
			c := m / mult
			xc := xs[(n*C+c)*H*W : (n*C+c+1)*H*W]
			oc := out[nm*OH*OW : (nm+1)*OH*OW]
			var b float32
			if bias != nil {
				b = bias[m]
			}
			wk := ws[m*9 : m*9+9 : m*9+9]
			for oh := 0; oh < OH; oh++ {
				ih := oh*sh - ph
				orow := oc[oh*OW : (oh+1)*OW]
				// The input rows under the window, nil where it reads
				// padding (those taps add nothing).
				var rows [3][]float32
				for k := range rows {
					if y := ih + k; y >= 0 && y < H {
						rows[k] = xc[y*W : (y+1)*W]
					}
				}
				for ow := 0; ow < owLo; ow++ {
					orow[ow] = dw3x3Edge(rows, wk, b, ow*sw-pw, W)
				}
				dw3x3Interior(rows, owLo*sw-pw, orow[owLo:owHi], wk, b, sw)
				for ow := owHi; ow < OW; ow++ {
					orow[ow] = dw3x3Edge(rows, wk, b, ow*sw-pw, W)
				}
			}
		}
	})
}

// dw3x3InteriorGo computes the outputs orow of one output row whose taps
// all fall inside the row's columns, the first window starting at column
// iw, with column stride sw. rows are the input rows under the window, nil
// for those in the padding, whose taps are left out (not added as zeros:
// -0 + +0 would turn a -0 sum into +0).
func dw3x3InteriorGo(rows [3][]float32, iw int, orow, wk []float32, b float32, sw int) {
	wk = wk[:9:9]
	if r0, r1, r2 := rows[0], rows[1], rows[2]; r0 != nil && r1 != nil && r2 != nil {
		// All three rows: the nine products unrolled (same order).
		w0, w1, w2, w3, w4, w5, w6, w7, w8 := wk[0], wk[1], wk[2], wk[3], wk[4], wk[5], wk[6], wk[7], wk[8]
		for ow := range orow {
			a0, a1, a2 := r0[iw:iw+3:iw+3], r1[iw:iw+3:iw+3], r2[iw:iw+3:iw+3]
			acc := b
			acc += w0 * a0[0]
			acc += w1 * a0[1]
			acc += w2 * a0[2]
			acc += w3 * a1[0]
			acc += w4 * a1[1]
			acc += w5 * a1[2]
			acc += w6 * a2[0]
			acc += w7 * a2[1]
			acc += w8 * a2[2]
			orow[ow] = acc
			iw += sw
		}
		return
	}
	for ow := range orow {
		acc := b
		for k, r := range rows {
			if r == nil {
				continue
			}
			a := r[iw : iw+3 : iw+3]
			acc += wk[3*k] * a[0]
			acc += wk[3*k+1] * a[1]
			acc += wk[3*k+2] * a[2]
		}
		orow[ow] = acc
		iw += sw
	}
}

// dw3x3Edge computes one output whose window starts at column iw and may
// hang over the left or right edge of the rows (width W): bias, then the
// products of the taps inside, row by row, as dw3x3InteriorGo sums them.
func dw3x3Edge(rows [3][]float32, wk []float32, b float32, iw, W int) float32 {
	wk = wk[:9:9]
	acc := b
	for k, r := range rows {
		if r == nil {
			continue
		}
		for kw := range 3 {
			if x := iw + kw; x >= 0 && x < W {
				acc += wk[3*k+kw] * r[x]
			}
		}
	}
	return acc
}
