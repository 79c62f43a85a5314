package kernels

import (
	"sync"

	"github.com/onnxquant/onnxquant/internal/gemm"
)

// winograd3x3 computes a 3x3, stride-1, undilated, ungrouped 2-D
// convolution with Winograd's minimal filtering F(2x2, 3x3): each 2x2 block
// of outputs (a tile) comes from the 4x4 input patch under it as
//
//	Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
//
// so the products of the convolution become 16 matrix products, one per
// position of the 4x4 transformed tile, of the transformed weights U [M, C]
// with the transformed inputs V [C, tiles]. That is 16 multiplies per
// 4 outputs and input channel instead of 36: a 2.25x cut of the GEMM work
// that dominates ResNet-style networks, paid for with the two transforms
// (additions only) and the memory for U.
//
// The sums run in a different order from im2col + GEMM, so results differ
// from Conv in the last bits (relative error around 1e-7 per layer); they
// do not depend on the number of workers. The transformed weights are
// built on first use, only for layers that take this path.
type winograd3x3 struct {
	w    []float32 // [M, C, 3, 3]
	M, C int

	once  sync.Once
	u     [16]*gemm.PackedA // U at each tile position, [M x C]
	mu    sync.Mutex
	tiles int // the tile count U's packing was chosen for; 0 until built
}

// winogradTilePositions is the number of positions of a transformed tile.
const winogradTilePositions = 16

// newWinograd3x3 returns the Winograd form of a Conv with weight ws of shape
// wsh and attributes p, or nil when the Conv is not one it computes.
func newWinograd3x3(ws []float32, wsh []int, p ConvParams) *winograd3x3 {
	if len(wsh) != 4 || wsh[2] != 3 || wsh[3] != 3 || max(p.Group, 1) != 1 {
		return nil
	}
	for _, s := range p.Strides {
		if s != 1 {
			return nil
		}
	}
	for _, d := range p.Dilations {
		if d != 1 {
			return nil
		}
	}
	return &winograd3x3{w: ws, M: wsh[0], C: wsh[1]}
}

// applies reports whether geometry g (already resolved for an input) is
// one this transform computes and whether it is cheaper than im2col + GEMM
// there. The estimate counts multiply-adds of the GEMMs, padded to the
// micro-kernel's tile as the kernel computes them, plus the floats each
// method moves outside the GEMM (im2col packing; both transforms and the
// packing of V) at an exchange rate measured on ResNet-18's layers.
func (wg *winograd3x3) applies(g geom) bool {
	if g.in[0] != 1 || g.k != [3]int{1, 3, 3} || g.s != [3]int{1, 1, 1} || g.d != [3]int{1, 1, 1} {
		return false
	}
	const moveCost = 30 // multiply-adds per float moved outside the GEMM
	C, P, tiles := wg.C, g.outSize(), winogradTiles(g)
	mr, nr := gemm.TileFor(wg.M, P)
	direct := roundUp(wg.M, mr)*9*C*roundUp(P, nr) + moveCost*9*C*P
	mr, nr = wg.tile(tiles)
	wino := winogradTilePositions*roundUp(wg.M, mr)*C*roundUp(tiles, nr) + moveCost*winogradTilePositions*(2*C+wg.M)*tiles
	// The margin leaves alone layers where the two are close (ResNet-18's
	// 7x7 ones measure even): they would pay U's memory for nothing.
	return 5*wino < 4*direct
}

func roundUp(n, m int) int { return (n + m - 1) / m * m }

// winogradTiles is the number of 2x2 output tiles covering g's output.
func winogradTiles(g geom) int {
	return ((g.out[1] + 1) / 2) * ((g.out[2] + 1) / 2)
}

// tile is the micro-kernel tile of the products for maps of the given
// number of tiles: that of U's packing once it is built.
func (wg *winograd3x3) tile(tiles int) (mr, nr int) {
	wg.mu.Lock()
	defer wg.mu.Unlock()
	if wg.tiles != 0 {
		tiles = wg.tiles
	}
	return gemm.TileFor(wg.M, tiles)
}

// packed returns U packed for the GEMM, building it on the first call,
// for the kernel best suited to maps of that call's number of tiles (a
// model's maps keep their size from one sample to the next).
func (wg *winograd3x3) packed(tiles int) *[16]*gemm.PackedA {
	wg.once.Do(func() {
		wg.mu.Lock()
		wg.tiles = tiles
		wg.mu.Unlock()
		// U is built transposed, [C, M] per position: packing then copies
		// runs of rows instead of gathering each column.
		M, C := wg.M, wg.C
		u := make([]float32, winogradTilePositions*M*C)
		for m := range M {
			for c := range C {
				mc := m*C + c
				for pos, v := range winogradWeight(wg.w[mc*9 : mc*9+9]) {
					u[pos*M*C+c*M+m] = v
				}
			}
		}
		for pos := range wg.u {
			wg.u[pos] = gemm.PackAFor(true, M, C, u[pos*M*C:(pos+1)*M*C], M, tiles)
		}
	})
	return &wg.u
}

// winogradWeight is G g Gᵀ for one 3x3 filter g, in float64 so that U
// carries one rounding only, with
//
//	G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1].
func winogradWeight(g []float32) [16]float32 {
	var gg [4][3]float64 // G g
	for j := range 3 {
		a, b, c := float64(g[j]), float64(g[3+j]), float64(g[6+j])
		gg[0][j] = a
		gg[1][j] = (a + b + c) / 2
		gg[2][j] = (a - b + c) / 2
		gg[3][j] = c
	}
	var u [16]float32
	for i := range 4 {
		a, b, c := gg[i][0], gg[i][1], gg[i][2]
		u[i*4+0] = float32(a)
		u[i*4+1] = float32((a + b + c) / 2)
		u[i*4+2] = float32((a - b + c) / 2)
		u[i*4+3] = float32(c)
	}
	return u
}

// run computes the convolution of the N images in xs into out ([N, M, OH,
// OW]), adding bias when it is not nil.
func (wg *winograd3x3) run(xs, bias, out []float32, N int, g geom, workers int) {
	M, C := wg.M, wg.C
	H, W, OH, OW := g.in[1], g.in[2], g.out[1], g.out[2]
	th, tw := (OH+1)/2, (OW+1)/2
	tiles := th * tw
	u := wg.packed(tiles)
	vs, ms := winogradStride(C*tiles), winogradStride(M*tiles)
	vBuf, mBuf := getCol(winogradTilePositions*vs), getCol(winogradTilePositions*ms)
	defer putCol(vBuf)
	defer putCol(mBuf)
	v, mt := *vBuf, *mBuf
	for n := range N {
		x := xs[n*C*H*W : (n+1)*C*H*W]
		parallelFor(workers, C, func(lo, hi int) {
			plane := getCol((2*th+2)*(2*tw+2) + winogradSlack)
			for c := lo; c < hi; c++ {
				winogradInput(x[c*H*W:(c+1)*H*W], *plane, v, c*tiles, vs, g, th, tw)
			}
			putCol(plane)
		})
		for pos := range winogradTilePositions {
			gemm.SgemmPacked(max(workers, 1), u[pos], false, tiles, 1,
				v[pos*vs:pos*vs+C*tiles], tiles, 0, mt[pos*ms:pos*ms+M*tiles], tiles)
		}
		o := out[n*M*OH*OW : (n+1)*M*OH*OW]
		parallelFor(workers, M, func(lo, hi int) {
			for m := lo; m < hi; m++ {
				b := float32(0)
				if bias != nil {
					b = bias[m]
				}
				winogradOutput(mt, o[m*OH*OW:(m+1)*OH*OW], m*tiles, ms, b, OH, OW, tw)
			}
		})
	}
}

// winogradStride is the distance between the matrices of two tile
// positions holding n floats each. The transforms read or write all 16 at
// once; were they a multiple of 4 KiB apart, as n often makes them, the 16
// streams would fall in the same L1 cache set and evict one another, which
// was measured to make ResNet-18's first layers 2x slower. A cache line more
// of spacing spreads them over 16 sets.
func winogradStride(n int) int { return roundUp(n, 16) + 16 }

// winogradInput writes Bᵀ d B for every tile of one input channel x [H, W]:
// position p of tile t goes to v[p*stride+base+t]. plane is scratch for the
// channel zero-padded to (2*th+2) x (2*tw+2) (plus winogradSlack floats), so
// that every patch is read without bounds tests.
func winogradInput(x, plane, v []float32, base, stride int, g geom, th, tw int) {
	H, W := g.in[1], g.in[2]
	ph, pw := 2*th+2, 2*tw+2
	plane = plane[:ph*pw+winogradSlack]
	top, left := g.pb[1], g.pb[2]
	for i := range ph {
		row := plane[i*pw : (i+1)*pw]
		ih := i - top
		if ih < 0 || ih >= H {
			clear(row)
			continue
		}
		n := min(W, pw-left)
		clear(row[:left])
		copy(row[left:left+n], x[ih*W:ih*W+n])
		clear(row[left+n:])
	}
	clear(plane[ph*pw:])
	_ = v[15*stride+base+th*tw-1]
	for ty := range th {
		winogradInputRow(plane[2*ty*pw:], pw, v[base+ty*tw:], stride, tw)
	}
}

// winogradSlack is how far past a padded plane the vector form of
// winogradInputRow may read (for the lanes of its last block that hold no
// tile and are not stored).
const winogradSlack = 48

// winogradInputRowGo transforms the tw tiles of one tile row, whose 4 rows
// of the padded plane start at plane (row stride pw), into v[p*stride+t].
// With
//
//	Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
//
// the transform is additions only. The vector form computes each output
// with the same operations in the same order, so the two agree bit for bit.
func winogradInputRowGo(plane []float32, pw int, v []float32, stride, tw int) {
	r0, r1, r2, r3 := plane[:pw], plane[pw:2*pw], plane[2*pw:3*pw], plane[3*pw:4*pw]
	for t := range tw {
		j := 2 * t
		a := r0[j : j+4 : j+4]
		b := r1[j : j+4 : j+4]
		c := r2[j : j+4 : j+4]
		d := r3[j : j+4 : j+4]
		// Rows: Bᵀ d.
		s00, s01, s02, s03 := a[0]-c[0], a[1]-c[1], a[2]-c[2], a[3]-c[3]
		s10, s11, s12, s13 := b[0]+c[0], b[1]+c[1], b[2]+c[2], b[3]+c[3]
		s20, s21, s22, s23 := c[0]-b[0], c[1]-b[1], c[2]-b[2], c[3]-b[3]
		s30, s31, s32, s33 := b[0]-d[0], b[1]-d[1], b[2]-d[2], b[3]-d[3]
		// Columns: (Bᵀ d) B.
		v[t] = s00 - s02
		v[stride+t] = s01 + s02
		v[2*stride+t] = s02 - s01
		v[3*stride+t] = s01 - s03
		v[4*stride+t] = s10 - s12
		v[5*stride+t] = s11 + s12
		v[6*stride+t] = s12 - s11
		v[7*stride+t] = s11 - s13
		v[8*stride+t] = s20 - s22
		v[9*stride+t] = s21 + s22
		v[10*stride+t] = s22 - s21
		v[11*stride+t] = s21 - s23
		v[12*stride+t] = s30 - s32
		v[13*stride+t] = s31 + s32
		v[14*stride+t] = s32 - s31
		v[15*stride+t] = s31 - s33
	}
}

// winogradOutput writes Aᵀ m A + bias for every tile of one output channel
// o [OH, OW], position p of tile t being read from mt[p*stride+base+t].
func winogradOutput(mt, o []float32, base, stride int, bias float32, OH, OW, tw int) {
	_ = mt[15*stride+base+((OH+1)/2)*tw-1]
	for ty := range (OH + 1) / 2 {
		rows := min(2, OH-2*ty)
		winogradOutputRow(mt[base+ty*tw:], stride, o[2*ty*OW:(2*ty+rows)*OW], OW, tw, rows, bias)
	}
}

// winogradOutputRowGo writes the rows (1 or 2) of output o (row stride OW)
// covered by one tile row of tw tiles, with
//
//	Aᵀ = [1 1 1 0; 0 1 -1 -1].
//
// A tile hanging over the right edge (odd OW) keeps its left column. The
// vector form computes each output with the same operations in the same
// order, so the two agree bit for bit.
func winogradOutputRowGo(mt []float32, stride int, o []float32, OW, tw, rows int, bias float32) {
	for t := range tw {
		m00, m01, m02, m03 := mt[t], mt[stride+t], mt[2*stride+t], mt[3*stride+t]
		m10, m11, m12, m13 := mt[4*stride+t], mt[5*stride+t], mt[6*stride+t], mt[7*stride+t]
		m20, m21, m22, m23 := mt[8*stride+t], mt[9*stride+t], mt[10*stride+t], mt[11*stride+t]
		m30, m31, m32, m33 := mt[12*stride+t], mt[13*stride+t], mt[14*stride+t], mt[15*stride+t]
		// Rows: Aᵀ m.
		s00, s01, s02, s03 := m00+m10+m20, m01+m11+m21, m02+m12+m22, m03+m13+m23
		s10, s11, s12, s13 := m10-m20-m30, m11-m21-m31, m12-m22-m32, m13-m23-m33
		// Columns: (Aᵀ m) A.
		ox := 2 * t
		o[ox] = s00 + s01 + s02 + bias
		if ox+1 < OW {
			o[ox+1] = s01 - s02 - s03 + bias
		}
		if rows == 2 {
			o[OW+ox] = s10 + s11 + s12 + bias
			if ox+1 < OW {
				o[OW+ox+1] = s11 - s12 - s13 + bias
			}
		}
	}
}
