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

// The assembly column strips round like the Go loop that finishes the
// remaining columns, so the two must agree bit for bit (which columns fall in
// a strip depends on how the caller split the output; results must not).
func TestAssemblyColumnStripsAreBitIdenticalToGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	const ld = 150
	for _, k := range []int{1, 7, 300} {
		x, w := make([]float32, k), make([]float32, k*ld)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		for i := range w {
			w[i] = float32(rng.NormFloat64())
		}
		want := make([]float32, 130)
		vecMatGo(x, w, ld, want, 0)
		got := make([]float32, 130)
		vecMat(x, w, ld, got)
		if !slices.Equal(got, want) {
			t.Errorf("k=%d: vecMat differs from vecMatGo", k)
		}
		if haveAVX2 {
			colsAVX2(k, &x[0], &w[0], ld, &got[0])
			if !slices.Equal(got[:32], want[:32]) {
				t.Errorf("k=%d: colsAVX2 differs from vecMatGo", k)
			}
		}
	}
}
