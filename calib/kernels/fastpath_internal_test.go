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
