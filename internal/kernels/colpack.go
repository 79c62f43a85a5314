package kernels

// colPacker is the im2col matrix of one image and group of a 1-D or 2-D
// convolution, produced for gemm.SgemmSource straight in packed-B layout
// one K x N block at a time. The stored im2col matrix of a ResNet layer is
// several megabytes: writing it, reading it back to pack it and writing the
// panels makes two trips through memory, while the input it is gathered
// from (a fraction of that size) stays in cache. The packed values are the
// ones packing the stored matrix would give, so results are unchanged.
type colPacker struct {
	x []float32 // the group's input channels [Cg, H, W], or prepared (below)
	g geom
	// prepared means x holds the input already padded, Cg planes of hp x wp
	// covering every position a tap reads, each row ordered by phase of the
	// width stride: the elements at 0, s, 2s, ... first, those at 1, 1+s,
	// ... from phOff[1] and so on. Every run of a tap is then one plain copy.
	prepared bool
	hp, wp   int
	phOff    []int
}

// usePrepared reports whether preparing the input pays for itself: it
// touches the input once, while the taps read it about
// kSize/(stride_h*stride_w) times over (nine times for a 3x3 stride-1
// layer, twelve for a 7x7 stride-2 stem, a quarter for a 1x1 stride-2
// projection, which is left to the direct gather).
func usePrepared(g geom) bool {
	return g.kSize() > 2*g.s[1]*g.s[2]
}

// preparedDims is the padded plane a tap can read: one row or column past
// the last read (with output size o, stride s, kernel k and dilation d).
func preparedDims(g geom) (hp, wp int) {
	return (g.out[1]-1)*g.s[1] + (g.k[1]-1)*g.d[1] + 1, (g.out[2]-1)*g.s[2] + (g.k[2]-1)*g.d[2] + 1
}

// prepare fills dst (at least Cg*hp*wp floats) with the prepared input of
// the Cg channels in x and makes cp read it.
func (cp *colPacker) prepare(dst []float32, Cg int) {
	g := &cp.g
	H, W, s := g.in[1], g.in[2], g.s[2]
	hp, wp := preparedDims(*g)
	off := make([]int, s)
	for q := 1; q < s; q++ {
		off[q] = off[q-1] + (wp-(q-1)+s-1)/s
	}
	for c := range Cg {
		for ph := range hp {
			d := dst[(c*hp+ph)*wp : (c*hp+ph+1)*wp]
			ih := ph - g.pb[1]
			if ih < 0 || ih >= H {
				clear(d)
				continue
			}
			src := cp.x[(c*H+ih)*W : (c*H+ih+1)*W]
			for q := range s {
				o := d[off[q]:]
				n := 0
				for pw := q; pw < wp; pw += s {
					v := float32(0)
					if iw := pw - g.pb[2]; iw >= 0 && iw < W {
						v = src[iw]
					}
					o[n] = v
					n++
				}
			}
		}
	}
	cp.x, cp.prepared, cp.hp, cp.wp, cp.phOff = dst[:Cg*hp*wp], true, hp, wp, off
}

// canPackCols reports whether colPacker handles geometry g: no depth axis
// (1-D and 2-D convolutions, which geom stores with a unit depth).
func canPackCols(g geom) bool {
	return g.in[0] == 1 && g.out[0] == 1 && g.k[0] == 1 && g.pb[0] == 0
}

// tap is one row of the im2col matrix: an input channel and kernel offset,
// with the output rows [h0,h1) and columns [w0,w1) where it reads inside
// the input.
type tap struct {
	base           int // offset of the channel in x
	ih0, iw0       int // input row and column read at output position (0, 0)
	h0, h1, w0, w1 int
}

// PackB writes rows [p0,p0+kc) and columns [j0,j0+nc) of the im2col matrix
// as gemm.BPacker specifies.
func (cp *colPacker) PackB(dst []float32, p0, kc, j0, nc, nr int) {
	g := &cp.g
	K, I := g.kSize(), g.inSize()
	var taps [64]tap
	for q0 := 0; q0 < kc; q0 += len(taps) {
		qn := min(len(taps), kc-q0)
		for q := range qn {
			r := p0 + q0 + q
			c, t := r/K, r%K
			kh, kw := t/g.k[2], t%g.k[2]
			h0, h1 := g.validRange(1, kh)
			w0, w1 := g.validRange(2, kw)
			if cp.prepared {
				taps[q] = tap{base: c * cp.hp * cp.wp, ih0: kh * g.d[1], iw0: kw * g.d[2]}
				continue
			}
			taps[q] = tap{base: c * I, ih0: kh*g.d[1] - g.pb[1], iw0: kw*g.d[2] - g.pb[2], h0: h0, h1: h1, w0: w0, w1: w1}
		}
		// Each row is gathered a chunk of columns at a time into row (on
		// the stack, in L1) with long runs, then cut into the slivers.
		var row [1024]float32
		for c0 := 0; c0 < nc; c0 += len(row) {
			cn := min(len(row), nc-c0)
			s0 := c0 / nr // len(row) is a multiple of every kernel's nr
			for q := range qn {
				p := q0 + q
				if cp.prepared {
					cp.fillPrepared(row[:cn], &taps[q], j0+c0)
				} else {
					cp.fill(row[:cn], &taps[q], j0+c0)
				}
				for s := 0; s*nr < cn; s++ {
					cols := min(nr, cn-s*nr)
					d := dst[(s0+s)*nr*kc+p*nr : (s0+s)*nr*kc+(p+1)*nr]
					copy(d, row[s*nr:s*nr+cols])
					if cols < nr {
						clear(d[cols:])
					}
				}
			}
		}
	}
}

// fillPrepared is fill reading the prepared input.
func (cp *colPacker) fillPrepared(out []float32, t *tap, a int) {
	g := &cp.g
	OW, wp := g.out[2], cp.wp
	sh, sw := g.s[1], g.s[2]
	oh, ow := a/OW, a%OW
	for len(out) > 0 {
		seg := min(OW-ow, len(out))
		row := cp.x[t.base+(oh*sh+t.ih0)*wp : t.base+(oh*sh+t.ih0+1)*wp]
		iw := ow*sw + t.iw0
		copy(out[:seg], row[cp.phOff[iw%sw]+iw/sw:])
		out = out[seg:]
		oh++
		ow = 0
	}
}

// fill writes the values tap t meets at output positions [a, a+len(out)).
func (cp *colPacker) fill(out []float32, t *tap, a int) {
	g := &cp.g
	OW, W := g.out[2], g.in[2]
	sh, sw := g.s[1], g.s[2]
	oh, ow := a/OW, a%OW
	for len(out) > 0 {
		seg := min(OW-ow, len(out))
		o := out[:seg]
		out = out[seg:]
		if oh < t.h0 || oh >= t.h1 {
			clear(o)
		} else {
			lo, hi := max(ow, t.w0), min(ow+seg, t.w1)
			if lo >= hi {
				clear(o)
			} else {
				clear(o[:lo-ow])
				clear(o[hi-ow:])
				src := cp.x[t.base+(oh*sh+t.ih0)*W:]
				iw := lo*sw + t.iw0
				v := o[lo-ow : hi-ow]
				switch {
				case sw == 1:
					copy(v, src[iw:iw+len(v)])
				case sw == 2:
					// Sized so the compiler drops the bounds checks.
					s := src[iw : iw+2*len(v)-1]
					for i := range v {
						v[i] = s[2*i]
					}
				default:
					for i := range v {
						v[i] = src[iw]
						iw += sw
					}
				}
			}
		}
		oh++
		ow = 0
	}
}
