package gemm

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// SgemmPacked must give exactly SgemmParallel's bits (same K blocking, same
// tile grid) for every shape class: vector paths, one and several K blocks,
// ragged edges, several M blocks, and any worker count. Sgemm itself is
// checked against a float64 reference in sgemm_test.go; the reference check
// is repeated here so a shared bug cannot hide.
func TestSgemmPackedIsBitIdenticalToSgemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	extra := [][3]int{{64, 3136, 576}, {300, 49, 4608}, {13, 20, 700}, {2, 5, 3}}
	for _, s := range append(slices.Clone(shapes), extra...) {
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			for _, ab := range [][2]float32{{1, 0}, {1.25, 0.5}, {0, 2}} {
				p := newProblem(rng, tr[0], tr[1], s[0], s[1], s[2], 2, ab[0], ab[1])
				pa := PackA(p.transA, p.m, p.k, p.a, p.lda)
				if pa.Rows() != p.m || pa.Cols() != p.k {
					t.Fatalf("PackA shape %dx%d, want %dx%d", pa.Rows(), pa.Cols(), p.m, p.k)
				}
				for _, w := range []int{1, 2, 3} {
					want := p.run(nil, w)
					got := slices.Clone(p.c)
					SgemmPacked(w, pa, p.transB, p.n, p.alpha, p.b, p.ldb, p.beta, got, p.ldc)
					if !slices.Equal(got, want) {
						t.Fatalf("%v trans=%v alpha,beta=%v workers=%d: SgemmPacked differs from SgemmParallel", s, tr, ab, w)
					}
					if w == 1 && p.m*p.n*p.k < 1<<20 {
						p.check(t, got)
					}
				}
			}
		}
	}
}

// One PackedA is shared read-only by concurrent calls (the interpreter runs
// samples in parallel against the same prepacked weights).
func TestSgemmPackedConcurrentUse(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	p := newProblem(rng, false, false, 70, 300, 600, 0, 1, 0)
	pa := PackA(false, p.m, p.k, p.a, p.lda)
	want := p.run(nil, 1)
	done := make(chan []float32)
	for range 4 {
		go func() {
			c := make([]float32, len(p.c))
			SgemmPacked(2, pa, false, p.n, 1, p.b, p.ldb, 0, c, p.ldc)
			done <- c
		}()
	}
	for range 4 {
		if got := <-done; !slices.Equal(got, want) {
			t.Fatal("concurrent SgemmPacked differs from SgemmParallel")
		}
	}
}

func TestPackAPanicsOnShortSlice(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("PackA accepted a short A")
		}
	}()
	PackA(false, 4, 4, make([]float32, 15), 4)
}

// PackAFor picks the narrow kernel for few columns where one exists, and
// the products it packs for are right (float64 reference) and independent
// of the worker count, for column counts around the narrow tile's width.
func TestPackAForFewColumns(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	if narrow != nil {
		if mr, nr := TileFor(512, 16); mr != narrow.mr || nr != narrow.nr {
			t.Errorf("TileFor(512, 16) = %dx%d, want the narrow kernel's %dx%d", mr, nr, narrow.mr, narrow.nr)
		}
		if mr, nr := TileFor(512, 3136); mr != kernel.mr || nr != kernel.nr {
			t.Errorf("TileFor(512, 3136) = %dx%d, want the default kernel's %dx%d", mr, nr, kernel.mr, kernel.nr)
		}
	}
	for _, s := range [][3]int{{512, 16, 512}, {60, 9, 300}, {29, 16, 40}, {100, 1, 30}, {1, 16, 8}} {
		p := newProblem(rng, false, false, s[0], s[1], s[2], 0, 1, 0)
		pa := PackAFor(false, p.m, p.k, p.a, p.lda, p.n)
		var first []float32
		for _, w := range []int{1, 2, 3} {
			got := slices.Clone(p.c)
			SgemmPacked(w, pa, false, p.n, 1, p.b, p.ldb, 0, got, p.ldc)
			p.check(t, got)
			if first == nil {
				first = got
			} else if !slices.Equal(first, got) {
				t.Fatalf("%v: workers=%d changes the result", s, w)
			}
		}
	}
}
