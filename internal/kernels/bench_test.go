package kernels

import (
	"math/rand/v2"
	"testing"
)

func benchConv(b *testing.B, xsh, wsh []int, group, workers int) {
	r := rand.New(rand.NewPCG(5, 6))
	x := mustF32(b, xsh, randF32(r, prod(xsh)))
	w := mustF32(b, wsh, randF32(r, prod(wsh)))
	p := ConvParams{Window: Window{Pads: []int{1, 1, 1, 1}}, Group: group}
	out, err := Conv(x, w, nil, p, workers)
	if err != nil {
		b.Fatal(err)
	}
	flops := 2 * float64(prod(Dims(out))) * float64(prod(wsh[1:]))
	b.ResetTimer()
	for b.Loop() {
		if _, err := Conv(x, w, nil, p, workers); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func BenchmarkConv3x3_64to64_56x56_1worker(b *testing.B) {
	benchConv(b, []int{1, 64, 56, 56}, []int{64, 64, 3, 3}, 1, 1)
}

func BenchmarkConv3x3_64to64_56x56_2workers(b *testing.B) {
	benchConv(b, []int{1, 64, 56, 56}, []int{64, 64, 3, 3}, 1, 2)
}

func BenchmarkDepthwise3x3_32ch_112x112(b *testing.B) {
	benchConv(b, []int{1, 32, 112, 112}, []int{32, 1, 3, 3}, 32, 1)
}

func BenchmarkMatMul_1x16x64_by_64x64(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	a := mustF32(b, []int{1, 16, 64}, randF32(r, 16*64))
	w := mustF32(b, []int{64, 64}, randF32(r, 64*64))
	for b.Loop() {
		if _, err := MatMul(a, w, 1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(2*16*64*64*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// ResNet's stem pool: 3x3, stride 2, padding 1 on [1,64,112,112].
func BenchmarkMaxPool3x3s2_64ch_112x112(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 10))
	x := mustF32(b, []int{1, 64, 112, 112}, randF32(r, 64*112*112))
	p := PoolParams{Window: Window{Kernel: []int{3, 3}, Strides: []int{2, 2}, Pads: []int{1, 1, 1, 1}}}
	out := make([]float32, 64*56*56)
	alloc := func(int) []float32 { return out }
	for b.Loop() {
		if _, err := MaxPoolWith(alloc, x, p); err != nil {
			b.Fatal(err)
		}
	}
}
