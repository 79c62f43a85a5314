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
			w0, w1, w2, w3, w4, w5, w6, w7, w8 := wk[0], wk[1], wk[2], wk[3], wk[4], wk[5], wk[6], wk[7], wk[8]
			for oh := 0; oh < OH; oh++ {
				ih := oh*sh - ph
				orow := oc[oh*OW : (oh+1)*OW]
				if ih < 0 || ih+3 > H {
					dwEdge(xc, wk, b, orow, 0, OW, ih, H, W, sw, pw)
					continue
				}
				r0, r1, r2 := xc[ih*W:(ih+1)*W], xc[(ih+1)*W:(ih+2)*W], xc[(ih+2)*W:(ih+3)*W]
				dwEdge(xc, wk, b, orow, 0, owLo, ih, H, W, sw, pw)
				iw := owLo*sw - pw
				for ow := owLo; ow < owHi; ow++ {
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
				dwEdge(xc, wk, b, orow, owHi, OW, ih, H, W, sw, pw)
			}
		}
	})
}

// dwEdge computes output columns [ow0, ow1) of one output row whose window
// starts at input row ih, checking every tap against the input bounds.
func dwEdge(xc, wk []float32, b float32, orow []float32, ow0, ow1, ih, H, W, sw, pw int) {
	for ow := ow0; ow < ow1; ow++ {
		iw := ow*sw - pw
		acc := b
		for kh := 0; kh < 3; kh++ {
			y := ih + kh
			if y < 0 || y >= H {
				continue
			}
			for kw := 0; kw < 3; kw++ {
				x := iw + kw
				if x < 0 || x >= W {
					continue
				}
				acc += wk[kh*3+kw] * xc[y*W+x]
			}
		}
		orow[ow] = acc
	}
}
