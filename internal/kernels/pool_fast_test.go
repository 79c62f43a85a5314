package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"
)

// poolSpecials are the values on which MaxPool's rule (the first tap, then
// each later one that is greater or NaN) differs from a plain max: NaNs of
// both signs with payloads, signed zeros, and the infinities.
var poolSpecials = []float32{
	float32(math.NaN()), math.Float32frombits(0xffc00001), math.Float32frombits(0x7f800001),
	math.Float32frombits(0xff800123), 0, float32(math.Copysign(0, -1)),
	float32(math.Inf(1)), float32(math.Inf(-1)),
}

// poolInput fills n values: normals, a share zeros of exact zeros (as ReLU
// output has; a share negZeros of them -0), and each special with
// probability p.
func poolInput(r *rand.Rand, n int, p, zeros, negZeros float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		switch {
		case r.Float64() < p:
			x[i] = poolSpecials[r.IntN(len(poolSpecials))]
		case r.Float64() < zeros:
			x[i] = 0
			if r.Float64() < negZeros {
				x[i] = float32(math.Copysign(0, -1))
			}
		default:
			x[i] = float32(r.NormFloat64())
		}
	}
	return x
}

// The fast MaxPool paths must give the general tap-by-tap loop's bits for
// every output, over shapes, strides, pads, dilations and ceil_mode, on data
// with and without NaN, signed zeros and infinities.
func TestMaxPoolFastMatchesGeneral(t *testing.T) {
	type tc struct {
		in   []int
		p    PoolParams
		name string
	}
	w2 := func(k, s, d, pb0, pb1, pe0, pe1 int, ceil bool) PoolParams {
		return PoolParams{Window: Window{Kernel: []int{k, k}, Strides: []int{s, s}, Dilations: []int{d, d},
			Pads: []int{pb0, pb1, pe0, pe1}}, CeilMode: ceil}
	}
	cases := []tc{
		{[]int{1, 64, 112, 112}, w2(3, 2, 1, 1, 1, 1, 1, false), "resnet-stem"},
		{[]int{2, 3, 17, 13}, w2(3, 2, 1, 1, 1, 1, 1, false), "odd"},
		{[]int{2, 3, 17, 13}, w2(3, 2, 1, 1, 1, 1, 1, true), "odd-ceil"},
		{[]int{1, 4, 16, 16}, w2(2, 2, 1, 0, 0, 0, 0, false), "2x2"},
		{[]int{1, 4, 15, 15}, w2(2, 2, 1, 0, 0, 0, 0, true), "2x2-ceil"},
		{[]int{1, 3, 12, 11}, w2(3, 1, 1, 1, 1, 1, 1, false), "3x3-s1"},
		{[]int{1, 3, 12, 11}, w2(3, 1, 2, 2, 1, 0, 2, false), "dilated"},
		{[]int{1, 3, 14, 19}, w2(3, 3, 2, 2, 2, 2, 2, true), "dilated-ceil"},
		{[]int{1, 2, 9, 9}, w2(5, 2, 1, 2, 2, 2, 2, false), "5x5"},
		{[]int{1, 2, 9, 9}, w2(1, 2, 1, 0, 0, 0, 0, false), "1x1"},
		{[]int{1, 2, 4, 4}, w2(2, 1, 1, 0, 0, 0, 0, false), "tiny"},
		{[]int{1, 2, 7, 7}, w2(2, 3, 1, 1, 1, 1, 1, true), "gaps"},
		{[]int{1, 2, 3, 3}, w2(3, 1, 1, 2, 2, 2, 2, false), "pad-ge-kernel"},
		{[]int{1, 2, 6, 10}, PoolParams{Window: Window{Kernel: []int{2, 3}, Strides: []int{1, 2}, Pads: []int{0, 1, 1, 1}}}, "rect"},
		{[]int{2, 3, 20}, PoolParams{Window: Window{Kernel: []int{3}, Strides: []int{2}, Pads: []int{1, 1}}}, "1d"},
		{[]int{1, 2, 3, 6, 6}, PoolParams{Window: Window{Kernel: []int{2, 3, 3}, Strides: []int{1, 2, 2}, Pads: []int{0, 1, 1, 1, 1, 1}}}, "3d"},
	}
	r := rand.New(rand.NewPCG(11, 12))
	for _, c := range cases {
		for _, mix := range []struct {
			name               string
			p, zeros, negZeros float64
		}{
			{"plain", 0, 0, 0},
			{"zeros", 0, 0.3, 0.5},
			{"relu", 0, 0.5, 0},
			// Mostly zeros: many windows whose max is a zero, with and
			// without a rare -0 among them, and a plane of +0 only.
			{"mostly-zeros", 0, 0.95, 0.5},
			{"rare-neg-zero", 0, 0.97, 0.001},
			{"all-pos-zero", 0, 1, 0},
			{"rare-specials", 0.002, 0.3, 0.5},
			{"specials", 0.1, 0, 0},
			{"dense-specials", 0.5, 0.3, 0.5},
		} {
			t.Run(c.name+"/"+mix.name, func(t *testing.T) {
				x := poolInput(r, prod(c.in), mix.p, mix.zeros, mix.negZeros)
				got, err := MaxPool(tensor.New(tensor.WithShape(c.in...), tensor.WithBacking(x)), c.p)
				if err != nil {
					t.Fatal(err)
				}
				g, err := c.p.Window.resolve("MaxPool", c.in[2:], c.p.Kernel, c.p.CeilMode)
				if err != nil {
					t.Fatal(err)
				}
				nc := c.in[0] * c.in[1]
				want := maxPool3D(make([]float32, nc*g.outSize()), x, nc, g, float32(math.Inf(-1)))
				gf := got.Data().([]float32)
				if len(gf) != len(want) {
					t.Fatalf("%d outputs, want %d", len(gf), len(want))
				}
				for i := range want {
					if math.Float32bits(gf[i]) != math.Float32bits(want[i]) {
						t.Fatalf("output %d = %v (%#08x), want %v (%#08x)", i, gf[i], math.Float32bits(gf[i]), want[i], math.Float32bits(want[i]))
					}
				}
			})
		}
	}
}

// Hand-computed windows for the cases where the rule is not a plain max:
// a NaN anywhere wins (the last NaN in tap order), and among equal zeros
// the first tap wins.
func TestMaxPoolNaNAndSignedZeroRule(t *testing.T) {
	nz := float32(math.Copysign(0, -1))
	nan1, nan2 := math.Float32frombits(0x7fc00001), math.Float32frombits(0xffc00002)
	for _, c := range []struct {
		x    []float32
		want uint32
	}{
		{[]float32{-1, nz, 0, -2}, 0x80000000},    // -0 before +0
		{[]float32{-1, 0, nz, -2}, 0x00000000},    // +0 before -0
		{[]float32{nan1, 5, 7, 1}, 0x7fc00001},    // NaN first stays
		{[]float32{nan1, 5, nan2, 1}, 0xffc00002}, // the last NaN wins
		{[]float32{3, -1, 2, nan2}, 0xffc00002},   // NaN last
		{[]float32{-inf32(), -inf32(), -inf32(), -inf32()}, 0xff800000},
	} {
		// One 2x2 window over a [1,1,2,2] input.
		p := PoolParams{Window: Window{Kernel: []int{2, 2}}}
		got, err := MaxPool(tensor.New(tensor.WithShape(1, 1, 2, 2), tensor.WithBacking(append([]float32(nil), c.x...))), p)
		if err != nil {
			t.Fatal(err)
		}
		if g := math.Float32bits(got.Data().([]float32)[0]); g != c.want {
			t.Errorf("%v: got %#08x, want %#08x", c.x, g, c.want)
		}
	}
}

func inf32() float32 { return float32(math.Inf(1)) }

// BenchmarkMaxPoolResNet18 is ResNet18's one MaxPool: 3x3, stride 2, pad 1
// over [1,64,112,112] (ReLU output, so about half the values are +0).
func BenchmarkMaxPoolResNet18(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, 64*112*112)
	for i := range x {
		x[i] = max(0, float32(r.NormFloat64()))
	}
	in := tensor.New(tensor.WithShape(1, 64, 112, 112), tensor.WithBacking(x))
	p := PoolParams{Window: Window{Kernel: []int{3, 3}, Strides: []int{2, 2}, Pads: []int{1, 1, 1, 1}}}
	out := make([]float32, 64*56*56)
	alloc := func(n int) []float32 { return out[:n] }
	b.ReportAllocs()
	for b.Loop() {
		if _, err := MaxPoolWith(alloc, in, p); err != nil {
			b.Fatal(err)
		}
	}
}
