//go:build amd64 && !purego

package gemm

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// The assembly dot products must match a float64 reference on every length
// they accept, whichever of them the CPU would pick.
func TestAssemblyDotMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	type impl struct {
		name  string
		ok    bool
		width int
		f     func(n int, x, y *float32) float32
	}
	for _, im := range []impl{{"avx512", haveAVX512, 16, dotAVX512}, {"avx2", haveAVX2, 8, dotAVX2}} {
		if !im.ok {
			t.Logf("%s not supported here", im.name)
			continue
		}
		for n := im.width; n <= 300; n += im.width {
			x, y := make([]float32, n), make([]float32, n)
			var want, mag float64
			for i := range x {
				x[i], y[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
				want += float64(x[i]) * float64(y[i])
				mag += math.Abs(float64(x[i]) * float64(y[i]))
			}
			got := float64(im.f(n, &x[0], &y[0]))
			if tol := 2 * float64(n) * mag / (1 << 23); math.Abs(got-want) > tol {
				t.Errorf("%s n=%d: got %v, want %v (tol %.3g)", im.name, n, got, want, tol)
			}
		}
	}
}

// axpyAVX2 rounds like the Go loop that finishes its tail, so the two must
// agree bit for bit (results must not depend on where the tail starts).
func TestAssemblyAxpyIsBitIdenticalToGo(t *testing.T) {
	if !haveAVX2 {
		t.Skip("AVX2+FMA not supported here")
	}
	rng := rand.New(rand.NewPCG(13, 14))
	for _, n := range []int{32, 64, 96, 320} {
		x, acc := make([]float32, n), make([]float32, n)
		for i := range x {
			x[i], acc[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
		}
		want := slices.Clone(acc)
		axpyGo(0.37, x, want)
		axpyAVX2(n, 0.37, &x[0], &acc[0])
		if !slices.Equal(acc, want) {
			t.Errorf("n=%d: assembly and Go axpy differ", n)
		}
	}
}
