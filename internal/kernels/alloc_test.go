package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"gorgonia.org/tensor"
)

// staleAlloc hands out buffers full of a NaN payload, as a recycled buffer
// holding an earlier tensor could be, and remembers the last one so tests
// can check the kernel wrote its result there.
type staleAlloc struct{ last []float32 }

func (s *staleAlloc) alloc(n int) []float32 {
	b := make([]float32, n)
	for i := range b {
		b[i] = math.Float32frombits(0x7fc0beef)
	}
	s.last = b
	return b
}

// Every ...With kernel must give the bits of its plain form whatever the
// buffer it is handed held, and must return that buffer.
func TestWithKernelsOverwriteStaleBuffers(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	x := mustF32(t, []int{2, 4, 7, 6}, randF32(r, 2*4*7*6))
	dwW := mustF32(t, []int{4, 1, 3, 3}, randF32(r, 36))
	dw5 := mustF32(t, []int{8, 1, 5, 5}, randF32(r, 8*25))
	fullW := mustF32(t, []int{5, 4, 3, 3}, randF32(r, 5*36))
	pwW := mustF32(t, []int{3, 4, 1, 1}, randF32(r, 12))
	bias4 := mustF32(t, []int{4}, randF32(r, 4))
	bias5 := mustF32(t, []int{5}, randF32(r, 5))
	row := mustF32(t, []int{1, 4, 1, 1}, randF32(r, 4))
	a := mustF32(t, []int{3, 5}, randF32(r, 15))
	bm := mustF32(t, []int{5, 2}, randF32(r, 10))
	cm := mustF32(t, []int{2}, randF32(r, 2))
	batA := mustF32(t, []int{2, 3, 5}, randF32(r, 30))
	pad := Window{Pads: []int{1, 1, 1, 1}}
	pool := PoolParams{Window: Window{Kernel: []int{3, 3}, Strides: []int{2, 2}, Pads: []int{1, 1, 1, 1}}}
	ones := mustF32(t, []int{4}, []float32{1, 1.5, 0.5, 2})

	type pair struct {
		plain func() (*tensor.Dense, error)
		with  func(Alloc) (*tensor.Dense, error)
	}
	cases := map[string]pair{
		"Conv full+bias": {func() (*tensor.Dense, error) { return Conv(x, fullW, bias5, ConvParams{Window: pad}, 1) },
			func(al Alloc) (*tensor.Dense, error) {
				return ConvWith(al, x, fullW, bias5, ConvParams{Window: pad}, 2)
			}},
		"Conv full": {func() (*tensor.Dense, error) { return Conv(x, fullW, nil, ConvParams{Window: pad}, 1) },
			func(al Alloc) (*tensor.Dense, error) { return ConvWith(al, x, fullW, nil, ConvParams{Window: pad}, 1) }},
		"Conv pointwise": {func() (*tensor.Dense, error) { return Conv(x, pwW, nil, ConvParams{}, 1) },
			func(al Alloc) (*tensor.Dense, error) { return ConvWith(al, x, pwW, nil, ConvParams{}, 1) }},
		"Conv depthwise3x3": {func() (*tensor.Dense, error) { return Conv(x, dwW, nil, ConvParams{Window: pad, Group: 4}, 1) },
			func(al Alloc) (*tensor.Dense, error) {
				return ConvWith(al, x, dwW, nil, ConvParams{Window: pad, Group: 4}, 1)
			}},
		"Conv depthwise5x5": {func() (*tensor.Dense, error) { return Conv(x, dw5, nil, ConvParams{Window: pad, Group: 4}, 1) },
			func(al Alloc) (*tensor.Dense, error) {
				return ConvWith(al, x, dw5, nil, ConvParams{Window: pad, Group: 4}, 1)
			}},
		"Relu": {func() (*tensor.Dense, error) { return Relu(x) },
			func(al Alloc) (*tensor.Dense, error) { return ReluWith(al, x) }},
		"Clip": {func() (*tensor.Dense, error) { return Clip(x, -0.25, 0.5) },
			func(al Alloc) (*tensor.Dense, error) { return ClipWith(al, x, -0.25, 0.5) }},
		"HardSigmoid": {func() (*tensor.Dense, error) { return HardSigmoid(x, 0.2, 0.5) },
			func(al Alloc) (*tensor.Dense, error) { return HardSigmoidWith(al, x, 0.2, 0.5) }},
		"HardSwish": {func() (*tensor.Dense, error) { return HardSwish(x) },
			func(al Alloc) (*tensor.Dense, error) { return HardSwishWith(al, x) }},
		"Add broadcast": {func() (*tensor.Dense, error) { return Add(x, row) },
			func(al Alloc) (*tensor.Dense, error) { return AddWith(al, x, row) }},
		"Mul": {func() (*tensor.Dense, error) { return Mul(x, x) },
			func(al Alloc) (*tensor.Dense, error) { return MulWith(al, x, x) }},
		"Sub broadcast": {func() (*tensor.Dense, error) { return Sub(row, x) },
			func(al Alloc) (*tensor.Dense, error) { return SubWith(al, row, x) }},
		"Div": {func() (*tensor.Dense, error) { return Div(x, row) },
			func(al Alloc) (*tensor.Dense, error) { return DivWith(al, x, row) }},
		"MaxPool": {func() (*tensor.Dense, error) { return MaxPool(x, pool) },
			func(al Alloc) (*tensor.Dense, error) { return MaxPoolWith(al, x, pool) }},
		"GlobalAveragePool": {func() (*tensor.Dense, error) { return GlobalAveragePool(x) },
			func(al Alloc) (*tensor.Dense, error) { return GlobalAveragePoolWith(al, x) }},
		"Gemm": {func() (*tensor.Dense, error) { return Gemm(a, bm, nil, false, false, 1, 1, 1) },
			func(al Alloc) (*tensor.Dense, error) { return GemmWith(al, a, bm, nil, false, false, 1, 1, 1) }},
		"Gemm+C": {func() (*tensor.Dense, error) { return Gemm(a, bm, cm, false, false, 0.5, 2, 1) },
			func(al Alloc) (*tensor.Dense, error) { return GemmWith(al, a, bm, cm, false, false, 0.5, 2, 1) }},
		"MatMul batched": {func() (*tensor.Dense, error) { return MatMul(batA, bm, 1) },
			func(al Alloc) (*tensor.Dense, error) { return MatMulWith(al, batA, bm, 1) }},
		"BatchNormalization": {func() (*tensor.Dense, error) { return BatchNormalization(x, ones, bias4, bias4, ones, 1e-5) },
			func(al Alloc) (*tensor.Dense, error) {
				return BatchNormalizationWith(al, x, ones, bias4, bias4, ones, 1e-5)
			}},
		"Concat": {func() (*tensor.Dense, error) { return Concat([]*tensor.Dense{x, x}, 1) },
			func(al Alloc) (*tensor.Dense, error) { return ConcatWith(al, []*tensor.Dense{x, x}, 1) }},
	}
	for name, c := range cases {
		want, err := c.plain()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sa := &staleAlloc{}
		got, err := c.with(sa.alloc)
		if err != nil {
			t.Fatalf("%s with stale buffer: %v", name, err)
		}
		if !got.Shape().Eq(want.Shape()) {
			t.Fatalf("%s: shape %v, want %v", name, got.Shape(), want.Shape())
		}
		g, w := got.Data().([]float32), want.Data().([]float32)
		if sa.last == nil || unsafe.SliceData(g) != unsafe.SliceData(sa.last) {
			t.Errorf("%s: result is not in the allocated buffer", name)
		}
		for i := range w {
			if math.Float32bits(g[i]) != math.Float32bits(w[i]) {
				t.Errorf("%s: element %d = %v, want %v", name, i, g[i], w[i])
				break
			}
		}
	}
}

// Non-float32 inputs ignore the allocator: it only hands out float32s.
func TestWithKernelsMakeOtherTypes(t *testing.T) {
	x, err := New([]int{2, 2}, []int32{-1, 2, -3, 4})
	if err != nil {
		t.Fatal(err)
	}
	sa := &staleAlloc{}
	for name, f := range map[string]func() (*tensor.Dense, error){
		"Relu":   func() (*tensor.Dense, error) { return ReluWith(sa.alloc, x) },
		"Add":    func() (*tensor.Dense, error) { return AddWith(sa.alloc, x, x) },
		"Concat": func() (*tensor.Dense, error) { return ConcatWith(sa.alloc, []*tensor.Dense{x, x}, 0) },
	} {
		y, err := f()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := fmt.Sprint(y.Data()); got == "" || sa.last != nil {
			t.Errorf("%s: used the float32 allocator for int32 data (%s)", name, got)
		}
	}
}
