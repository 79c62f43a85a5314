package kernels

import "gorgonia.org/tensor"

// ConvTransposeParams are ConvTranspose's attributes. OutputShape, when set,
// gives the spatial output size (a full [N, M, ...] shape is also accepted) and
// the pads are derived from it as the ONNX spec prescribes.
type ConvTransposeParams struct {
	Window
	Group         int
	OutputPadding []int
	OutputShape   []int
}

// ConvTranspose is ONNX ConvTranspose for 1-D to 3-D inputs: x [N,C,spatial...],
// w [C, M/group, k...], optional bias [M]. Each (image, group) is one GEMM into
// a column buffer followed by a col2im scatter; the scatter is split by output
// channel, so the result does not depend on workers.
func ConvTranspose(x, w, b *tensor.Dense, p ConvTransposeParams, workers int) (*tensor.Dense, error) {
	const op = "ConvTranspose"
	xs, xsh, err := f32in(op, x)
	if err != nil {
		return nil, err
	}
	ws, wsh, err := f32in(op, w)
	if err != nil {
		return nil, err
	}
	if len(xsh) < 3 || len(xsh) > 5 || len(wsh) != len(xsh) {
		return nil, shapeErr(op, "input %v and weight %v must both be rank 3 to 5", xsh, wsh)
	}
	group := max(p.Group, 1)
	N, C := xsh[0], xsh[1]
	if wsh[0] != C || C%group != 0 {
		return nil, shapeErr(op, "weight %v must start with input channels %d divisible by group %d", wsh, C, group)
	}
	Mg := wsh[1]
	M := Mg * group
	kernel := wsh[2:]
	if p.Kernel != nil && !equalInts(p.Kernel, kernel) {
		return nil, shapeErr(op, "kernel_shape %v differs from weight %v", p.Kernel, wsh)
	}
	n := len(kernel)
	st, dl := ones(n, p.Strides), ones(n, p.Dilations)
	opad := p.OutputPadding
	if opad == nil {
		opad = make([]int, n)
	}
	pads := p.Pads
	if pads == nil {
		pads = make([]int, 2*n)
	}
	if len(st) != n || len(dl) != n || len(opad) != n || len(pads) != 2*n {
		return nil, shapeErr(op, "strides %v, dilations %v, output_padding %v or pads %v do not match %d spatial dims", st, dl, opad, pads, n)
	}
	outSp := p.OutputShape
	if len(outSp) == n+2 {
		outSp = outSp[2:]
	}
	if outSp != nil && len(outSp) != n {
		return nil, shapeErr(op, "output_shape %v does not match %d spatial dims", p.OutputShape, n)
	}
	// g describes the equivalent forward conv from the output back to the input:
	// g.in is the ConvTranspose output, g.out its input.
	var g geom
	g.nsp = n
	for i := range 3 {
		g.in[i], g.k[i], g.s[i], g.d[i], g.out[i] = 1, 1, 1, 1, 1
	}
	for i := 0; i < n; i++ {
		j := 3 - n + i
		in := xsh[2+i]
		g.k[j], g.s[j], g.d[j], g.out[j] = kernel[i], st[i], dl[i], in
		dk := (kernel[i]-1)*dl[i] + 1
		full := st[i]*(in-1) + opad[i] + dk
		switch {
		case outSp != nil || p.AutoPad == "SAME_UPPER" || p.AutoPad == "SAME_LOWER":
			target := in * st[i]
			if outSp != nil {
				target = outSp[i]
			}
			// total may be negative (output_shape larger than the natural size);
			// the spec's total/2 is floor division there, extending the end.
			total := full - target
			half := total >> 1
			if p.AutoPad == "SAME_UPPER" {
				g.pb[j], g.pe[j] = half, total-half
			} else {
				g.pb[j], g.pe[j] = total-half, half
			}
			g.in[j] = target
		case p.AutoPad == "VALID":
			g.in[j] = full
		case p.AutoPad == "" || p.AutoPad == "NOTSET":
			g.pb[j], g.pe[j] = pads[i], pads[n+i]
			g.in[j] = full - pads[i] - pads[n+i]
		default:
			return nil, shapeErr(op, "unknown auto_pad %q", p.AutoPad)
		}
		if g.in[j] < 1 {
			return nil, shapeErr(op, "output size %d along spatial axis %d is not positive", g.in[j], i)
		}
	}
	var bias []float32
	if b != nil {
		var bsh []int
		if bias, bsh, err = f32in(op, b); err != nil {
			return nil, err
		}
		if len(bsh) != 1 || bsh[0] != M {
			return nil, shapeErr(op, "bias %v must be [%d]", bsh, M)
		}
	}
	Cg := C / group
	K, Pin, Pout := g.kSize(), g.outSize(), g.inSize()
	out := make([]float32, N*M*Pout)
	col := make([]float32, Mg*K*Pin)
	for img := 0; img < N; img++ {
		for gi := 0; gi < group; gi++ {
			xg := xs[(img*C+gi*Cg)*Pin : (img*C+(gi+1)*Cg)*Pin]
			wg := ws[gi*Cg*Mg*K : (gi+1)*Cg*Mg*K]
			// col[Mg*K, Pin] = wg^T x xg, wg being [Cg, Mg*K].
			sgemmParallel(workers, true, false, Mg*K, Pin, Cg, 1, wg, Mg*K, xg, Pin, 0, col, Pin)
			og := out[(img*M+gi*Mg)*Pout : (img*M+(gi+1)*Mg)*Pout]
			parallelFor(workers, Mg, func(lo, hi int) {
				for m := lo; m < hi; m++ {
					dst := og[m*Pout : (m+1)*Pout]
					if bias != nil {
						v := bias[gi*Mg+m]
						for i := range dst {
							dst[i] = v
						}
					}
					col2im(col[m*K*Pin:(m+1)*K*Pin], dst, g)
				}
			})
		}
	}
	osh := []int{N, M}
	osh = append(osh, g.in[3-n:]...)
	return New(osh, out)
}

// col2im adds each column row (one kernel tap over all input positions) into
// the output plane dst, skipping positions that land in the padding.
func col2im(col, dst []float32, g geom) {
	K, P := g.kSize(), g.outSize()
	H, W := g.in[1], g.in[2]
	OH, OW := g.out[1], g.out[2]
	for t := 0; t < K; t++ {
		kd, kh, kw := t/(g.k[1]*g.k[2]), (t/g.k[2])%g.k[1], t%g.k[2]
		src := col[t*P : (t+1)*P]
		d0, d1 := g.validRange(0, kd)
		h0, h1 := g.validRange(1, kh)
		w0, w1 := g.validRange(2, kw)
		for od := d0; od < d1; od++ {
			id := od*g.s[0] - g.pb[0] + kd*g.d[0]
			for oh := h0; oh < h1; oh++ {
				ih := oh*g.s[1] - g.pb[1] + kh*g.d[1]
				drow := dst[(id*H+ih)*W:]
				srow := src[(od*OH+oh)*OW:]
				iw := w0*g.s[2] - g.pb[2] + kw*g.d[2]
				for ow := w0; ow < w1; ow++ {
					drow[iw] += srow[ow]
					iw += g.s[2]
				}
			}
		}
	}
}
