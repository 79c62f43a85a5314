package gemm

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// benchShapes are square sizes and the shapes Conv (im2col: M = output
// channels, N = output pixels, K = Cin*kh*kw) and a fully connected layer
// produce.
var benchShapes = []struct {
	name           string
	m, n, k        int
	transA, transB bool
}{
	{"256x256x256", 256, 256, 256, false, false},
	{"1024x1024x1024", 1024, 1024, 1024, false, false},
	{"conv3x3s1_M64_N12544_K27", 64, 112 * 112, 27, false, false},
	{"conv_M128_N3136_K1152", 128, 3136, 1152, false, false},
	{"fc_M1000_N1_K512", 1000, 1, 512, false, false},
	{"matmul_M1_N1000_K512", 1, 1000, 512, false, false},
	{"gemm_transB_M1_N1000_K512", 1, 1000, 512, false, true},
}

func benchOperands(m, n, k int) (a, b, c []float32) {
	rng := rand.New(rand.NewPCG(7, 8))
	fill := func(x []float32) []float32 {
		for i := range x {
			x[i] = rng.Float32() - 0.5
		}
		return x
	}
	return fill(make([]float32, m*k)), fill(make([]float32, k*n)), make([]float32, m*n)
}

func reportGFLOPs(b *testing.B, m, n, k int) {
	b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func BenchmarkSgemm(b *testing.B) {
	b.Logf("kernel: %s", KernelName())
	for _, s := range benchShapes {
		a, bb, c := benchOperands(s.m, s.n, s.k)
		lda, ldb := ld(s.transA, s.m, s.k), ld(s.transB, s.k, s.n)
		for _, w := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/workers=%d", s.name, w), func(b *testing.B) {
				for b.Loop() {
					SgemmParallel(w, s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
				}
				reportGFLOPs(b, s.m, s.n, s.k)
			})
		}
	}
}

// BenchmarkGonumBlas32 is the pure-Go baseline (gonum's native Sgemm, which
// parallelises internally over GOMAXPROCS; run with -cpu 1,2).
func BenchmarkGonumBlas32(b *testing.B) {
	for _, s := range benchShapes {
		a, bb, c := benchOperands(s.m, s.n, s.k)
		ga := general(s.transA, s.m, s.k, a)
		gb := general(s.transB, s.k, s.n, bb)
		gc := blas32.General{Rows: s.m, Cols: s.n, Stride: s.n, Data: c}
		b.Run(s.name, func(b *testing.B) {
			for b.Loop() {
				blas32.Gemm(trans(s.transA), trans(s.transB), 1, ga, gb, 0, gc)
			}
			reportGFLOPs(b, s.m, s.n, s.k)
		})
	}
}

// ld is the leading dimension of a row-major rows x cols operand op(X).
func ld(t bool, rows, cols int) int {
	if t {
		return rows
	}
	return cols
}

func general(t bool, rows, cols int, x []float32) blas32.General {
	if t {
		rows, cols = cols, rows
	}
	return blas32.General{Rows: rows, Cols: cols, Stride: cols, Data: x}
}

func trans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

// BenchmarkKernels runs the blocked driver with each micro-kernel this CPU
// supports, single-threaded, to compare the AVX-512, AVX2 and Go tiles.
func BenchmarkKernels(b *testing.B) {
	for _, kern := range availableKernels() {
		for _, s := range benchShapes[:4] {
			a, bb, c := benchOperands(s.m, s.n, s.k)
			b.Run(kern.name+"/"+s.name, func(b *testing.B) {
				ws := new(workspace)
				for b.Loop() {
					gemmBlocked(&kern, ws, false, false, s.m, s.n, s.k, 1, a, s.k, bb, s.n, 0, c, s.n)
				}
				reportGFLOPs(b, s.m, s.n, s.k)
			})
		}
	}
}
