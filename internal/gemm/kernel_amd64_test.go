//go:build amd64 && !purego

package gemm

import (
	"math/rand/v2"
	"slices"
	"testing"

	"golang.org/x/sys/cpu"
)

// A ragged bottom tile runs a partial-tile kernel; each of its rows must
// carry exactly the bits the full 12-row kernel gives that row, or results
// would depend on where M happens to end.
func TestAVX512PartialTilesMatchFullTile(t *testing.T) {
	if !cpu.X86.HasAVX512F {
		t.Skip("no AVX-512")
	}
	rng := rand.New(rand.NewPCG(21, 22))
	const mr, nr, ldc = 12, 32, 40
	for _, k := range []int{1, 3, 4, 7, 256} {
		a, b := make([]float32, k*mr), make([]float32, k*nr)
		for i := range a {
			a[i] = rng.Float32()*2 - 1
		}
		for i := range b {
			b[i] = rng.Float32()*2 - 1
		}
		c0 := make([]float32, mr*ldc)
		for i := range c0 {
			c0[i] = rng.Float32()
		}
		for _, ab := range [][2]float32{{1, 0}, {1.5, -0.25}} {
			full := slices.Clone(c0)
			kernAVX512(k, &a[0], &b[0], &full[0], ldc, ab[0], ab[1], mr)
			for rows := 1; rows < mr; rows++ {
				got := slices.Clone(c0)
				avx512Kernel.run(k, a, b, got, ldc, ab[0], ab[1], rows)
				want := slices.Concat(full[:rows*ldc], c0[rows*ldc:])
				for r := range rows {
					// Columns past nr belong to no tile and stay as they were.
					copy(want[r*ldc+nr:(r+1)*ldc], c0[r*ldc+nr:(r+1)*ldc])
				}
				if !slices.Equal(got, want) {
					t.Fatalf("k=%d alpha,beta=%v rows=%d: partial tile differs from the full tile", k, ab, rows)
				}
			}
		}
	}
}
