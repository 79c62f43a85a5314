package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// problem is one Sgemm call with its storage, built so that leading
// dimensions can exceed the row length (padding is filled with a sentinel).
type problem struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	lda, ldb, ldc  int
	a, b, c        []float32
}

const sentinel = float32(-12345.5)

func newProblem(rng *rand.Rand, transA, transB bool, m, n, k, pad int, alpha, beta float32) *problem {
	p := &problem{transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	p.lda, p.ldb, p.ldc = ac+pad, bc+pad, n+pad
	p.a = randMatrix(rng, ar, ac, p.lda)
	p.b = randMatrix(rng, br, bc, p.ldb)
	p.c = randMatrix(rng, m, n, p.ldc)
	return p
}

func randMatrix(rng *rand.Rand, rows, cols, ld int) []float32 {
	x := make([]float32, max(rows*ld, 1))
	for i := range x {
		x[i] = sentinel
	}
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			x[i*ld+j] = float32(rng.NormFloat64())
		}
	}
	return x
}

func (p *problem) opA(i, q int) float64 {
	if p.transA {
		return float64(p.a[q*p.lda+i])
	}
	return float64(p.a[i*p.lda+q])
}

func (p *problem) opB(q, j int) float64 {
	if p.transB {
		return float64(p.b[j*p.ldb+q])
	}
	return float64(p.b[q*p.ldb+j])
}

// check compares got (C after the call) with a float64 reference, element
// by element, against the standard float32 dot-product error bound
// k*eps*sum|a*b| (doubled for slack), and checks the padding is untouched.
func (p *problem) check(t *testing.T, got []float32) {
	t.Helper()
	const eps = 1.0 / (1 << 23)
	bad := 0
	for i := 0; i < p.m; i++ {
		for j := 0; j < p.n; j++ {
			var want, mag float64
			for q := 0; q < p.k; q++ {
				x := p.opA(i, q) * p.opB(q, j)
				want += x
				mag += math.Abs(x)
			}
			want *= float64(p.alpha)
			mag *= math.Abs(float64(p.alpha))
			if p.beta != 0 {
				cv := float64(p.c[i*p.ldc+j])
				want += float64(p.beta) * cv
				mag += math.Abs(float64(p.beta) * cv)
			}
			tol := 2*float64(p.k+2)*eps*mag + 1e-30
			g := float64(got[i*p.ldc+j])
			if math.IsNaN(g) || math.Abs(g-want) > tol {
				if bad++; bad <= 5 {
					t.Errorf("C[%d,%d] = %v, want %v (tol %.3g)", i, j, g, want, tol)
				}
			}
		}
		for j := p.n; j < p.ldc && i*p.ldc+j < len(got); j++ {
			if got[i*p.ldc+j] != sentinel {
				t.Fatalf("padding C[%d,%d] overwritten with %v", i, j, got[i*p.ldc+j])
			}
		}
	}
}

func (p *problem) run(kern *microKernel, workers int) []float32 {
	c := slices.Clone(p.c)
	if kern == nil {
		SgemmParallel(workers, p.transA, p.transB, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, c, p.ldc)
		return c
	}
	ws := new(workspace)
	gemmBlocked(kern, ws, p.transA, p.transB, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, c, p.ldc)
	return c
}

var shapes = [][3]int{
	{1, 1, 1}, {1, 1, 7}, {2, 3, 4}, {5, 17, 3}, {13, 33, 1}, {12, 32, 256}, {24, 64, 257},
	{37, 53, 71}, {1, 1000, 512}, {1000, 1, 512}, {64, 300, 27}, {200, 130, 600}, {7, 4100, 9},
}

func TestSgemmMatchesFloat64Reference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	scalars := [][2]float32{{1, 0}, {1, 1}, {-0.5, 2}, {2, -1}}
	for _, s := range shapes {
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			for si, ab := range scalars {
				pad := si % 3 // exercise lda > row length
				m, n, k := s[0], s[1], s[2]
				name := fmt.Sprintf("%dx%dx%d/tA=%v,tB=%v/alpha=%v,beta=%v/pad=%d", m, n, k, tr[0], tr[1], ab[0], ab[1], pad)
				t.Run(name, func(t *testing.T) {
					p := newProblem(rng, tr[0], tr[1], m, n, k, pad, ab[0], ab[1])
					p.check(t, p.run(nil, 1))
				})
			}
		}
	}
}

// Every kernel this CPU can run (assembly and the portable Go one) must
// agree with the reference through the blocked driver, including shapes
// that the public entry point would route to the matrix-vector path.
func TestEveryMicroKernelMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, kern := range availableKernels() {
		for _, s := range append(shapes, [3]int{200, 300, 530}) {
			for _, tr := range [][2]bool{{false, false}, {true, true}} {
				t.Run(fmt.Sprintf("%s/%dx%dx%d/tA=%v,tB=%v", kern.name, s[0], s[1], s[2], tr[0], tr[1]), func(t *testing.T) {
					p := newProblem(rng, tr[0], tr[1], s[0], s[1], s[2], 1, 1.5, -0.25)
					p.check(t, p.run(&kern, 1))
				})
			}
		}
	}
}

func TestParallelResultIsBitIdenticalForAnyWorkerCount(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, s := range [][3]int{{37, 530, 700}, {530, 37, 700}, {1000, 1, 512}, {1, 1000, 512}, {64, 3136, 27}, {300, 300, 300}, {13, 20, 5000}, {20, 33, 2000}} {
		for _, tr := range [][2]bool{{false, false}, {true, true}, {false, true}} {
			p := newProblem(rng, tr[0], tr[1], s[0], s[1], s[2], 3, 1.25, 0.5)
			want := p.run(nil, 1)
			for _, w := range []int{0, 2, 3, 4, 7} {
				if got := p.run(nil, w); !slices.Equal(got, want) {
					t.Errorf("%v transA=%v transB=%v: %d workers differ from 1 worker", s, tr[0], tr[1], w)
				}
			}
		}
	}
}

func TestBetaZeroIgnoresNaNInC(t *testing.T) {
	// 2x2 times 2x2, hand-computed: [1 2;3 4]*[5 6;7 8] = [19 22;43 50].
	a := []float32{1, 2, 3, 4}
	b := []float32{5, 6, 7, 8}
	for _, n := range []int{2} {
		c := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.NaN()), 1}
		Sgemm(false, false, 2, n, 2, 1, a, 2, b, 2, 0, c, 2)
		if want := []float32{19, 22, 43, 50}; !slices.Equal(c, want) {
			t.Errorf("C = %v, want %v", c, want)
		}
	}
	// Same through the tile kernels: a 40x40 zero matrix times anything,
	// with a NaN-filled C and beta 0, must give zeros.
	z := make([]float32, 40*40)
	c := make([]float32, 40*40)
	for i := range c {
		c[i] = float32(math.NaN())
	}
	Sgemm(false, false, 40, 40, 40, 1, z, 40, z, 40, 0, c, 40)
	for i, v := range c {
		if v != 0 {
			t.Fatalf("C[%d] = %v, want 0", i, v)
		}
	}
}

func TestAlphaZeroOrEmptyKOnlyScalesC(t *testing.T) {
	c := []float32{1, 2, 3, 4}
	Sgemm(false, false, 2, 2, 0, 1, nil, 1, nil, 2, 3, c, 2)
	if want := []float32{3, 6, 9, 12}; !slices.Equal(c, want) {
		t.Errorf("k=0: C = %v, want %v", c, want)
	}
	nan := float32(math.NaN())
	Sgemm(false, false, 2, 2, 2, 0, []float32{nan, nan, nan, nan}, 2, []float32{1, 1, 1, 1}, 2, 0.5, c, 2)
	if want := []float32{1.5, 3, 4.5, 6}; !slices.Equal(c, want) {
		t.Errorf("alpha=0: C = %v, want %v", c, want)
	}
}

func TestSgemmPanicsOnShortSlice(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for a too-short A")
		}
	}()
	Sgemm(false, false, 2, 2, 2, 1, make([]float32, 3), 2, make([]float32, 4), 2, 0, make([]float32, 4), 2)
}

// Slices cut to the minimum BLAS length ((rows-1)*ld + cols) must be enough:
// no path may touch storage past the last element of a matrix.
func TestMinimalLengthSlicesAreEnough(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, s := range [][3]int{{37, 53, 71}, {13, 33, 300}, {1, 40, 5}, {40, 1, 5}} {
		for _, tr := range [][2]bool{{false, false}, {true, true}} {
			p := newProblem(rng, tr[0], tr[1], s[0], s[1], s[2], 2, 1, 0.5)
			ar, ac := p.m, p.k
			if p.transA {
				ar, ac = ac, ar
			}
			br, bc := p.k, p.n
			if p.transB {
				br, bc = bc, br
			}
			p.a = p.a[:(ar-1)*p.lda+ac]
			p.b = p.b[:(br-1)*p.ldb+bc]
			p.c = p.c[:(p.m-1)*p.ldc+p.n]
			for _, w := range []int{1, 2} {
				p.check(t, p.run(nil, w))
			}
		}
	}
}
