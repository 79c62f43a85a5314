package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The branch-free and SIMD float32 loops must give the generic loops' bits
// exactly, on signed zeros, NaN (payloads included), infinities and values
// on the bounds, for lengths that exercise both the vector body (multiples
// of 32) and the scalar tail, and for odd bounds (lo > hi, NaN bounds).
func TestBranchFreeF32MatchesGeneric(t *testing.T) {
	specials := []float32{-1, 0, float32(math.Copysign(0, -1)), 3, 6, 7, 5.999, float32(math.NaN()),
		float32(math.Inf(1)), float32(math.Inf(-1)), 1e-45, -1e-45, math.Float32frombits(0xffc00001),
		math.Float32frombits(0x7f800001), -6, 6.000001}
	r := rand.New(rand.NewPCG(5, 6))
	var in []float32
	for len(in) < 32*6+13 {
		in = append(in, specials[r.IntN(len(specials))], float32(r.NormFloat64()*4))
	}
	same := func(a, b []float32) bool {
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				return false
			}
		}
		return len(a) == len(b)
	}
	nan := float32(math.NaN())
	for _, n := range []int{len(specials), 32, 64 + 7, len(in)} {
		in := in[:n]
		for _, b := range [][2]float32{{0, 6}, {float32(math.Copysign(0, -1)), 6}, {-1, 1},
			{float32(math.Inf(-1)), float32(math.Inf(1))}, {6, 0}, {nan, 6}, {0, nan}} {
			if got, want := clipF32(make([]float32, n), in, b[0], b[1]), clipT(in, b[0], b[1]); !same(got, want) {
				t.Errorf("clip %v, %d values: %v, want %v", b, n, got, want)
			}
		}
		if got, want := reluF32(make([]float32, n), in), reluT(in); !same(got, want) {
			t.Errorf("relu, %d values: %v, want %v", n, got, want)
		}
	}
}

// depthwise3x3 must reproduce convDepthwise's bits for every stride,
// padding and size, with and without bias (a -0 bias included).
func TestDepthwise3x3MatchesGeneral(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	vals := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64())
			if r.IntN(7) == 0 {
				v[i] = float32(math.Copysign(0, -1))
			}
		}
		return v
	}
	for _, hw := range [][2]int{{1, 1}, {2, 5}, {3, 3}, {7, 9}, {12, 12}} {
		for _, s := range []int{1, 2, 3} {
			for _, pad := range [][4]int{{0, 0, 0, 0}, {1, 1, 1, 1}, {0, 1, 0, 1}, {2, 0, 1, 2}} {
				for _, mult := range []int{1, 2} {
					N, C := 2, 3
					w := Window{Kernel: []int{3, 3}, Strides: []int{s, s}, Pads: pad[:]}
					g, err := w.resolve("Conv", hw[:], []int{3, 3}, false)
					if err != nil {
						continue
					}
					M := C * mult
					xs, ws := vals(N*C*hw[0]*hw[1]), vals(M*9)
					for _, bias := range [][]float32{nil, vals(M)} {
						want := make([]float32, N*M*g.outSize())
						got := make([]float32, len(want))
						convDepthwise(xs, ws, bias, want, N, C, mult, g, 1)
						depthwise3x3(xs, ws, bias, got, N, C, mult, g, 2)
						for i := range want {
							if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
								t.Fatalf("in %v stride %d pads %v mult %d bias %v: out[%d] = %v, want %v", hw, s, pad, mult, bias != nil, i, got[i], want[i])
							}
						}
					}
				}
			}
		}
	}
}

func benchClipData() []float32 {
	r := rand.New(rand.NewPCG(1, 1))
	d := make([]float32, 401408)
	for i := range d {
		d[i] = float32(r.NormFloat64() * 4)
	}
	return d
}

func BenchmarkClipF32(b *testing.B) {
	d := benchClipData()
	out := make([]float32, len(d))
	for b.Loop() {
		clipF32(out, d, 0, 6)
	}
}

func BenchmarkClipT(b *testing.B) {
	d := benchClipData()
	for b.Loop() {
		clipT(d, 0, 6)
	}
}

// maxPool2D (both its branchy and its order-key planes) must give the
// general loop's bits for every window form, on planes with and without
// NaN payloads and signed zeros.
func TestMaxPool2DMatchesGeneral(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	specials := []float32{float32(math.Copysign(0, -1)), 0, float32(math.NaN()), math.Float32frombits(0xffc00001),
		float32(math.Inf(1)), float32(math.Inf(-1)), 1, 1}
	plane := func(n int, withSpecials bool) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.IntN(9) - 4) // many ties
			if withSpecials && r.IntN(5) == 0 {
				v[i] = specials[r.IntN(len(specials))]
			}
		}
		return v
	}
	same := func(a, b []float32) bool {
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				return false
			}
		}
		return len(a) == len(b)
	}
	for _, hw := range [][2]int{{1, 1}, {3, 4}, {7, 9}, {12, 11}} {
		for _, w := range []Window{
			{Kernel: []int{3, 3}, Strides: []int{2, 2}, Pads: []int{1, 1, 1, 1}},
			{Kernel: []int{2, 2}, Strides: []int{2, 2}},
			{Kernel: []int{3, 2}, Strides: []int{1, 3}, Pads: []int{2, 0, 1, 2}},
			{Kernel: []int{3, 3}, Dilations: []int{2, 2}, Pads: []int{2, 2, 2, 2}},
			{Kernel: []int{5, 5}, Strides: []int{3, 3}, Pads: []int{4, 4, 4, 4}},
		} {
			for _, ceil := range []bool{false, true} {
				g, err := w.resolve("MaxPool", hw[:], w.Kernel, ceil)
				if err != nil {
					continue
				}
				nc := 3
				x := append(plane(hw[0]*hw[1], false), plane(2*hw[0]*hw[1], true)...)
				lowest := float32(math.Inf(-1))
				want := maxPool3D(make([]float32, nc*g.outSize()), x, nc, g, lowest)
				got := maxPool2D(make([]float32, nc*g.outSize()), x, nc, g, lowest)
				if !same(got, want) {
					t.Errorf("in %v window %+v ceil %v: %v, want %v", hw, w, ceil, got, want)
				}
				xi := make([]int8, len(x))
				for i := range xi {
					xi[i] = int8(r.IntN(256) - 128)
				}
				wi := maxPool3D(make([]int8, nc*g.outSize()), xi, nc, g, math.MinInt8)
				gi := maxPool2D(make([]int8, nc*g.outSize()), xi, nc, g, math.MinInt8)
				for i := range wi {
					if wi[i] != gi[i] {
						t.Fatalf("int8 in %v window %+v: %v, want %v", hw, w, gi, wi)
					}
				}
			}
		}
	}
}

// im2col must fill every element of its rows, stale contents or not, with
// the input value each tap meets or zero in the padding, for 1-D to 3-D
// windows with strides, dilations and uneven pads.
func TestIm2colWritesEveryElement(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, tc := range []struct {
		in []int
		w  Window
	}{
		{[]int{7, 6}, Window{Kernel: []int{3, 3}, Pads: []int{1, 1, 1, 1}}},
		{[]int{9, 8}, Window{Kernel: []int{3, 2}, Strides: []int{2, 3}, Pads: []int{2, 0, 1, 3}}},
		{[]int{9, 9}, Window{Kernel: []int{3, 3}, Dilations: []int{3, 2}, Pads: []int{3, 3, 3, 3}}},
		{[]int{4, 5, 6}, Window{Kernel: []int{2, 3, 3}, Strides: []int{1, 2, 1}, Pads: []int{1, 1, 0, 2, 1, 1}}},
		{[]int{10}, Window{Kernel: []int{4}, Strides: []int{3}, Pads: []int{3, 2}}},
		{[]int{3, 3}, Window{Kernel: []int{2, 2}, Pads: []int{4, 4, 4, 4}}},
	} {
		g, err := tc.w.resolve("Conv", tc.in, tc.w.Kernel, false)
		if err != nil {
			t.Fatal(err)
		}
		C := 2
		x := randF32(r, C*g.inSize())
		rows, P := C*g.kSize(), g.outSize()
		col := make([]float32, rows*P)
		for i := range col {
			col[i] = float32(math.NaN())
		}
		im2col(x, col, 0, rows, g)
		for row := 0; row < rows; row++ {
			c, tap := row/g.kSize(), row%g.kSize()
			kk := [3]int{tap / (g.k[1] * g.k[2]), (tap / g.k[2]) % g.k[1], tap % g.k[2]}
			for p := 0; p < P; p++ {
				o := [3]int{p / (g.out[1] * g.out[2]), (p / g.out[2]) % g.out[1], p % g.out[2]}
				want := float32(0)
				inside := true
				var at [3]int
				for a := range 3 {
					at[a] = o[a]*g.s[a] - g.pb[a] + kk[a]*g.d[a]
					inside = inside && at[a] >= 0 && at[a] < g.in[a]
				}
				if inside {
					want = x[c*g.inSize()+(at[0]*g.in[1]+at[1])*g.in[2]+at[2]]
				}
				if got := col[row*P+p]; math.Float32bits(got) != math.Float32bits(want) {
					t.Fatalf("in %v %+v: row %d position %d = %v, want %v", tc.in, tc.w, row, p, got, want)
				}
			}
		}
	}
}
