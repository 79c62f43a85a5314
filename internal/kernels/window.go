package kernels

// Window holds the sliding-window attributes shared by Conv, ConvTranspose and
// the pools. Nil slices take the ONNX defaults (strides and dilations 1, pads 0;
// Conv takes the kernel from its weight).
type Window struct {
	Kernel    []int  // spatial kernel shape
	Strides   []int  // per spatial axis
	Dilations []int  // per spatial axis
	Pads      []int  // [begin_1..begin_n, end_1..end_n]
	AutoPad   string // "", "NOTSET", "SAME_UPPER", "SAME_LOWER" or "VALID"
}

// geom is a Window resolved against an input: every slice has exactly three
// entries (depth, height, width) so 1-D, 2-D and 3-D ops share one loop nest;
// missing leading axes have size, kernel, stride and dilation 1 and no padding.
type geom struct {
	in, k, s, d, pb, pe, out [3]int
	nsp                      int // number of real spatial axes
}

func ones(n int, v []int) []int {
	if v != nil {
		return v
	}
	r := make([]int, n)
	for i := range r {
		r[i] = 1
	}
	return r
}

// resolve computes output sizes and effective pads for a forward window op.
func (w Window) resolve(op string, in, kernel []int, ceil bool) (geom, error) {
	var g geom
	n := len(in)
	if n < 1 || n > 3 {
		return g, shapeErr(op, "%d spatial dims not supported (1 to 3)", n)
	}
	if len(kernel) != n {
		return g, shapeErr(op, "kernel %v does not match %d spatial dims", kernel, n)
	}
	st, dl := ones(n, w.Strides), ones(n, w.Dilations)
	if len(st) != n || len(dl) != n {
		return g, shapeErr(op, "strides %v / dilations %v do not match %d spatial dims", st, dl, n)
	}
	pads := w.Pads
	if pads == nil {
		pads = make([]int, 2*n)
	}
	if len(pads) != 2*n {
		return g, shapeErr(op, "pads %v need %d values", pads, 2*n)
	}
	g.nsp = n
	for i := range 3 {
		g.in[i], g.k[i], g.s[i], g.d[i], g.out[i] = 1, 1, 1, 1, 1
	}
	off := 3 - n
	for i := 0; i < n; i++ {
		j := off + i
		g.in[j], g.k[j], g.s[j], g.d[j] = in[i], kernel[i], st[i], dl[i]
		if g.k[j] < 1 || g.s[j] < 1 || g.d[j] < 1 {
			return g, shapeErr(op, "kernel %v, strides %v and dilations %v must be positive", kernel, st, dl)
		}
		dk := (g.k[j]-1)*g.d[j] + 1
		switch w.AutoPad {
		case "", "NOTSET":
			g.pb[j], g.pe[j] = pads[i], pads[n+i]
			if g.pb[j] < 0 || g.pe[j] < 0 {
				return g, shapeErr(op, "negative pads %v", pads)
			}
			span := in[i] + g.pb[j] + g.pe[j] - dk
			if span < 0 {
				return g, shapeErr(op, "kernel extent %d exceeds padded input %d", dk, in[i]+g.pb[j]+g.pe[j])
			}
			g.out[j] = span/g.s[j] + 1
			if ceil {
				g.out[j] = (span+g.s[j]-1)/g.s[j] + 1
				// The last window must start inside the input or its begin padding.
				if (g.out[j]-1)*g.s[j] >= in[i]+g.pb[j] {
					g.out[j]--
				}
			}
		case "VALID":
			if in[i] < dk {
				return g, shapeErr(op, "kernel extent %d exceeds input %d", dk, in[i])
			}
			g.out[j] = (in[i]-dk)/g.s[j] + 1
		case "SAME_UPPER", "SAME_LOWER":
			g.out[j] = (in[i] + g.s[j] - 1) / g.s[j]
			total := max(0, (g.out[j]-1)*g.s[j]+dk-in[i])
			if w.AutoPad == "SAME_UPPER" {
				g.pb[j], g.pe[j] = total/2, total-total/2
			} else {
				g.pb[j], g.pe[j] = total-total/2, total/2
			}
		default:
			return g, shapeErr(op, "unknown auto_pad %q", w.AutoPad)
		}
	}
	return g, nil
}

func (g geom) outShape(n, c int) []int {
	s := []int{n, c}
	return append(s, g.out[3-g.nsp:]...)
}

func (g geom) inSize() int  { return g.in[0] * g.in[1] * g.in[2] }
func (g geom) outSize() int { return g.out[0] * g.out[1] * g.out[2] }
func (g geom) kSize() int   { return g.k[0] * g.k[1] * g.k[2] }

// validRange returns the output positions [lo, hi) along axis a whose input
// coordinate o*s - pb + kk*d falls inside the input.
func (g geom) validRange(a, kk int) (int, int) {
	off := kk*g.d[a] - g.pb[a]
	lo := 0
	if off < 0 {
		lo = (-off + g.s[a] - 1) / g.s[a]
	}
	hi := 0
	if g.in[a]-off > 0 {
		hi = (g.in[a] - off + g.s[a] - 1) / g.s[a]
	}
	hi = min(hi, g.out[a])
	if lo > hi {
		lo = hi
	}
	return lo, hi
}
