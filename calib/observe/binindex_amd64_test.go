//go:build amd64 && !purego

package observe

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"golang.org/x/sys/cpu"
)

// Each vector routine, called directly (bin only reaches the one the CPU
// prefers), must keep exactly the non-hot indices of the scalar rule, in
// order, and count the hot ones.
func TestBinPackRoutines(t *testing.T) {
	type routine func(data []float32, scale float64, off, hot0, hot1 int32, idx []int32) (kept, hits0, hits1 int)
	routines := map[string]routine{}
	if cpu.X86.HasAVX2 {
		routines["64 avx2"] = func(d []float32, s float64, off, h0, h1 int32, idx []int32) (int, int, int) {
			return binPack64AVX2(&d[0], len(d), s, off, h0, h1, &idx[0], &packTable)
		}
		routines["32 avx2"] = func(d []float32, s float64, off, h0, h1 int32, idx []int32) (int, int, int) {
			return binPack32AVX2(&d[0], len(d), s, off, h0, h1, &idx[0], &packTable)
		}
	}
	if cpu.X86.HasAVX512F {
		routines["32 avx512"] = func(d []float32, s float64, off, h0, h1 int32, idx []int32) (int, int, int) {
			return binPack32AVX512(&d[0], len(d), s, off, h0, h1, &idx[0])
		}
	}
	if len(routines) == 0 {
		t.Skip("no AVX2")
	}
	r := rand.New(rand.NewPCG(7, 8))
	const scale, off = 16, -40 // cells of 1/16 from -2.5
	for name, f := range routines {
		for _, n := range []int{16, 48, 512} {
			for _, pZero := range []int{0, 50, 95, 100} {
				data := make([]float32, n)
				for i := range data {
					if r.IntN(100) < pZero {
						data[i] = float32(math.Copysign(0, float64(r.IntN(2)-1)))
					} else {
						data[i] = float32(r.IntN(1600)-640) / 256 // in [-2.5, 3.75)
					}
				}
				const hot0, hot1 = 40, 41 // the cells of [0, 1/16) and [1/16, 1/8)
				var want []int32
				var want0, want1 int
				for _, x := range data {
					switch c := int32(math.Floor(float64(x)*scale)) - off; c {
					case hot0:
						want0++
					case hot1:
						want1++
					default:
						want = append(want, c)
					}
				}
				idx := make([]int32, n)
				kept, h0, h1 := f(data, scale, off, hot0, hot1, idx)
				if h0 != want0 || h1 != want1 || !slices.Equal(idx[:kept], want) {
					t.Fatalf("%s n %d zeros %d%%: hits %d, %d, kept %v; want %d, %d, %v", name, n, pZero, h0, h1, idx[:kept], want0, want1, want)
				}
			}
		}
	}
}
