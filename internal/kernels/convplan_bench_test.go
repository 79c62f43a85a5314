package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkConvPlanResNet18 times each distinct convolution shape of
// ResNet18 at 224x224 through ConvPlan (prepacked weights, as the
// interpreter runs them) on one worker; reps is how often the shape occurs
// in the network, so the sum of ns/op*reps approximates a sample's
// convolution time.
func BenchmarkConvPlanResNet18(b *testing.B) {
	layers := []struct {
		name                string
		c, m, hw, k, s, pad int
		reps                int
	}{
		{"conv1_7x7s2", 3, 64, 224, 7, 2, 3, 1},
		{"l1_3x3", 64, 64, 56, 3, 1, 1, 4},
		{"l2_3x3s2", 64, 128, 56, 3, 2, 1, 1},
		{"l2_1x1s2", 64, 128, 56, 1, 2, 0, 1},
		{"l2_3x3", 128, 128, 28, 3, 1, 1, 3},
		{"l3_3x3s2", 128, 256, 28, 3, 2, 1, 1},
		{"l3_1x1s2", 128, 256, 28, 1, 2, 0, 1},
		{"l3_3x3", 256, 256, 14, 3, 1, 1, 3},
		{"l4_3x3s2", 256, 512, 14, 3, 2, 1, 1},
		{"l4_1x1s2", 256, 512, 14, 1, 2, 0, 1},
		{"l4_3x3", 512, 512, 7, 3, 1, 1, 3},
	}
	for _, l := range layers {
		b.Run(fmt.Sprintf("%s_x%d", l.name, l.reps), func(b *testing.B) {
			r := rand.New(rand.NewPCG(7, 8))
			xsh := []int{1, l.c, l.hw, l.hw}
			wsh := []int{l.m, l.c, l.k, l.k}
			x := mustF32(b, xsh, randF32(r, prod(xsh)))
			w := mustF32(b, wsh, randF32(r, prod(wsh)))
			p := ConvParams{Window: Window{Strides: []int{l.s, l.s}, Pads: []int{l.pad, l.pad, l.pad, l.pad}}}
			plan, err := NewConvPlan(w, p)
			if err != nil {
				b.Fatal(err)
			}
			out := make([]float32, 0)
			alloc := func(n int) []float32 {
				if cap(out) < n {
					out = make([]float32, n)
				}
				return out[:n]
			}
			// One call first: the plan packs its weights (or builds its
			// Winograd form) on first use, once per model, not per sample.
			if _, err := plan.ConvWith(alloc, x, nil, 1); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := plan.ConvWith(alloc, x, nil, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
