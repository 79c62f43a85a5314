package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The AVX-512 form of a depthwise 3x3 row must give the scalar loop's bits
// for strides 1 and 2, around the 16-output block (partial, full, several),
// with signed zeros, infinities and NaN among the inputs, and must not
// write past the row.
func TestDepthwise3x3RowMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
	for _, sw := range []int{1, 2} {
		for _, n := range []int{1, 2, 7, 15, 16, 17, 31, 32, 33, 56} {
			width := sw*(n-1) + 3 + 2
			rows := make([][]float32, 3)
			for i := range rows {
				rows[i] = randF32(rng, width)
				for k := range rows[i] {
					if rng.IntN(20) == 0 {
						rows[i][k] = special[rng.IntN(len(special))]
					}
				}
			}
			wk := randF32(rng, 9)
			want := make([]float32, n+3)
			got := make([]float32, n+3)
			// Every subset of the three rows: the window's rows in
			// padding (top and bottom edges) are left out.
			for present := range 8 {
				var in [3][]float32
				for k := range in {
					if present&(1<<k) != 0 {
						in[k] = rows[k]
					}
				}
				bias := float32(0.5)
				if present == 0 {
					bias = float32(math.Copysign(0, -1))
				}
				for i := range want {
					want[i], got[i] = -7, -7
				}
				dw3x3InteriorGo(in, 2, want[:n], wk, bias, sw)
				dw3x3Interior(in, 2, got[:n], wk, bias, sw)
				same := true
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(math.IsNaN(float64(got[i])) && math.IsNaN(float64(want[i]))) {
						same = false
					}
				}
				if !same {
					t.Errorf("stride %d, %d outputs, rows %03b: vector form %v, scalar %v", sw, n, present, got, want)
				}
			}
		}
	}
}
