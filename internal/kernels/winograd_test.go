package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/onnxquant/onnxquant/internal/gemm"
)

// Winograd's F(2x2, 3x3) must agree with im2col + GEMM (itself checked
// against the ONNX node tests and ONNX Runtime) to float32 rounding, over
// odd and even output sizes (tiles hanging over the edge), asymmetric and
// oversized padding, several images, with and without bias, and give the
// same bits for every worker count.
func TestWinogradMatchesIm2colGemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	cases := []struct {
		name string
		x    []int
		m    int
		pads []int
		bias bool
	}{
		{"same pad even", []int{1, 16, 14, 14}, 24, []int{1, 1, 1, 1}, true},
		{"same pad odd", []int{1, 8, 7, 9}, 13, []int{1, 1, 1, 1}, false},
		{"valid", []int{2, 5, 11, 6}, 7, nil, true},
		{"asymmetric", []int{1, 3, 10, 12}, 4, []int{0, 2, 1, 0}, true},
		{"wide pad", []int{1, 4, 5, 5}, 6, []int{3, 2, 2, 3}, false},
		{"one output", []int{1, 9, 3, 3}, 5, nil, true},
		{"K beyond one block", []int{1, 300, 6, 6}, 20, []int{1, 1, 1, 1}, true},
	}
	for _, c := range cases {
		wsh := []int{c.m, c.x[1], 3, 3}
		x := mustF32(t, c.x, randF32(rng, shapeLen(c.x)))
		ws := randF32(rng, shapeLen(wsh))
		w := mustF32(t, wsh, ws)
		var b = mustF32(t, []int{c.m}, randF32(rng, c.m))
		var bias []float32
		if c.bias {
			bias = b.Data().([]float32)
		} else {
			b = nil
		}
		p := ConvParams{Window: Window{Pads: c.pads}}
		want, err := ConvWith(nil, x, w, b, p, 1)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		g, err := p.Window.resolve("Conv", c.x[2:], []int{3, 3}, false)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		wg := newWinograd3x3(ws, wsh, p)
		if wg == nil {
			t.Fatalf("%s: no Winograd form", c.name)
		}
		var first []float32
		for _, workers := range []int{1, 2, 3} {
			got := make([]float32, len(want.Data().([]float32)))
			for i := range got {
				got[i] = float32(math.NaN()) // every output must be written
			}
			wg.run(x.Data().([]float32), bias, got, c.x[0], g, workers)
			if e := relativeL2(got, want.Data().([]float32)); !(e < 1e-6) {
				t.Errorf("%s workers=%d: relative L2 error %g against im2col + GEMM", c.name, workers, e)
			}
			if first == nil {
				first = got
			} else if !slices.Equal(first, got) {
				t.Errorf("%s: workers=%d changes the result", c.name, workers)
			}
		}
	}
}

// The weight transform on a filter whose transformed tile is known by hand:
// a single 1 at the centre gives G g Gᵀ = (G e₁)(G e₁)ᵀ with G e₁ = (0, ½,
// -½, 0).
func TestWinogradWeightCentreTap(t *testing.T) {
	u := winogradWeight([]float32{0, 0, 0, 0, 1, 0, 0, 0, 0})
	col := [4]float32{0, 0.5, -0.5, 0}
	for i := range 4 {
		for j := range 4 {
			if want := col[i] * col[j]; u[i*4+j] != want {
				t.Errorf("U[%d][%d] = %g, want %g", i, j, u[i*4+j], want)
			}
		}
	}
}

// The plan takes Winograd where it is cheaper: ResNet-18's 3x3 layers at
// 56x56, 28x28 and 14x14; at 7x7 only with a micro-kernel 16 columns wide
// (the 16 tiles would fill half of a 32-wide one); never for strided or
// grouped 3x3 layers.
func TestWinogradChosenWhereCheaper(t *testing.T) {
	_, nr := gemm.TileFor(512, 16)
	for _, c := range []struct {
		c, hw int
		want  bool
	}{{64, 56, true}, {128, 28, true}, {256, 14, true}, {512, 7, nr <= 16}} {
		p := ConvParams{Window: Window{Pads: []int{1, 1, 1, 1}}}
		wg := newWinograd3x3(make([]float32, c.c*c.c*9), []int{c.c, c.c, 3, 3}, p)
		g, err := p.Window.resolve("Conv", []int{c.hw, c.hw}, []int{3, 3}, false)
		if err != nil {
			t.Fatal(err)
		}
		if got := wg.applies(g); got != c.want {
			t.Errorf("%d channels at %dx%d: Winograd chosen = %v, want %v", c.c, c.hw, c.hw, got, c.want)
		}
	}
	strided := ConvParams{Window: Window{Strides: []int{2, 2}}}
	if newWinograd3x3(make([]float32, 9), []int{1, 1, 3, 3}, strided) != nil {
		t.Error("a stride-2 Conv got a Winograd form")
	}
	if newWinograd3x3(make([]float32, 18), []int{2, 1, 3, 3}, ConvParams{Group: 2}) != nil {
		t.Error("a grouped Conv got a Winograd form")
	}
}

func relativeL2(got, want []float32) float64 {
	var num, den float64
	for i := range want {
		d := float64(got[i]) - float64(want[i])
		num += d * d
		den += float64(want[i]) * float64(want[i])
	}
	return math.Sqrt(num / den)
}

// BenchmarkWinogradResNet18 times ResNet-18's 3x3 stride-1 layers both
// ways on one worker, for the cost model in winograd3x3.applies.
func BenchmarkWinogradResNet18(b *testing.B) {
	for _, l := range []struct{ c, hw int }{{64, 56}, {128, 28}, {256, 14}, {512, 7}} {
		r := rand.New(rand.NewPCG(7, 8))
		xsh, wsh := []int{1, l.c, l.hw, l.hw}, []int{l.c, l.c, 3, 3}
		x := mustF32(b, xsh, randF32(r, shapeLen(xsh)))
		w := mustF32(b, wsh, randF32(r, shapeLen(wsh)))
		p := ConvParams{Window: Window{Pads: []int{1, 1, 1, 1}}}
		plan, err := NewConvPlan(w, p)
		if err != nil {
			b.Fatal(err)
		}
		im2col, err := NewConvPlan(w, p)
		if err != nil {
			b.Fatal(err)
		}
		im2col.wino = nil
		g, err := p.Window.resolve("Conv", xsh[2:], []int{3, 3}, false)
		if err != nil {
			b.Fatal(err)
		}
		out := make([]float32, l.c*l.hw*l.hw)
		alloc := func(n int) []float32 { return out[:n] }
		b.Run(fmt.Sprintf("c%d_%dx%d/im2col", l.c, l.hw, l.hw), func(b *testing.B) {
			for b.Loop() {
				if _, err := im2col.ConvWith(alloc, x, nil, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("c%d_%dx%d/winograd", l.c, l.hw, l.hw), func(b *testing.B) {
			plan.wino.packed(winogradTiles(g))
			for b.Loop() {
				plan.wino.run(x.Data().([]float32), nil, out, 1, g, 1)
			}
		})
	}
}

// The AVX-512 row transforms must give the Go ones' bits, over tile counts
// around the 16-tile block (full, partial and several blocks), odd output
// widths and single output rows; and they must not write past the tiles.
func TestWinogradRowTransformsMatchGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	for _, tw := range []int{1, 5, 15, 16, 17, 28, 33} {
		pw := 2*tw + 2
		plane := randF32(rng, 4*pw+winogradSlack)
		stride := tw + 7
		want := make([]float32, 16*stride)
		got := make([]float32, 16*stride)
		for i := range want {
			want[i], got[i] = -1, -1
		}
		winogradInputRowGo(plane, pw, want, stride, tw)
		winogradInputRow(plane, pw, got, stride, tw)
		if !slices.Equal(got, want) {
			t.Errorf("input transform, %d tiles: vector form differs from Go", tw)
		}
		mt := randF32(rng, 16*stride)
		for _, ow := range []int{2*tw - 1, 2 * tw} {
			for rows := 1; rows <= 2; rows++ {
				want := make([]float32, rows*ow+9)
				got := make([]float32, rows*ow+9)
				for i := range want {
					want[i], got[i] = -1, -1
				}
				winogradOutputRowGo(mt, stride, want, ow, tw, rows, 0.25)
				winogradOutputRow(mt, stride, got[:rows*ow], ow, tw, rows, 0.25)
				if !slices.Equal(got, want) {
					t.Errorf("output transform, %d tiles, width %d, %d rows: vector form differs from Go", tw, ow, rows)
				}
			}
		}
	}
}

// One plan serves concurrent calls (the interpreter runs samples in
// parallel), including the first ones, which build U: every call must get
// the single-call result.
func TestWinogradPlanConcurrentFirstUse(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	x := mustF32(t, []int{1, 64, 28, 28}, randF32(rng, 64*28*28))
	w := mustF32(t, []int{64, 64, 3, 3}, randF32(rng, 64*64*9))
	p := ConvParams{Window: Window{Pads: []int{1, 1, 1, 1}}}
	cp, err := NewConvPlan(w, p)
	if err != nil {
		t.Fatal(err)
	}
	if !planUsesWinograd(t, cp, x.Shape()) {
		t.Fatal("the test shape does not take Winograd")
	}
	results := make(chan []float32, 4)
	for range 4 {
		go func() {
			out, err := cp.ConvWith(nil, x, nil, 1)
			if err != nil {
				t.Error(err)
				results <- nil
				return
			}
			results <- out.Data().([]float32)
		}()
	}
	var first []float32
	for range 4 {
		got := <-results
		if first == nil {
			first = got
		} else if !slices.Equal(got, first) {
			t.Fatal("concurrent calls of one plan disagree")
		}
	}
}
