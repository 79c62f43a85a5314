package observe

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// binReference is the cell rule spelled out one value at a time:
// floor(x * 2^-exp) - lo, counted into fresh cells.
func binReference(h *Histogram, data []float32) []uint64 {
	cells := make([]uint64, len(h.cells))
	for _, x := range data {
		cells[int64(math.Floor(float64(x)*math.Ldexp(1, -h.exp)))-h.lo]++
	}
	return cells
}

// binData makes n activation-like values: half ReLU zeros (of both signs
// when signed), the rest spread over a few decades, plus values exactly on
// cell edges and subnormals.
func binData(r *rand.Rand, n int, shift float32) []float32 {
	d := make([]float32, n)
	for i := range d {
		switch r.IntN(8) {
		case 0, 1, 2:
			d[i] = 0
		case 3:
			d[i] = float32(math.Copysign(0, -1))
		case 4:
			d[i] = float32(r.IntN(64)-32) / 8 // on cell edges of coarse grids
		case 5:
			d[i] = math.Float32frombits(uint32(r.IntN(1 << 23))) // subnormal
		default:
			d[i] = float32(r.NormFloat64() * 3)
		}
		d[i] += shift
	}
	return d
}

// bin must count exactly what the one-value-at-a-time rule counts, for
// every batch length (vector body and tail), grids near and far from zero,
// and batches that hold one value only.
func TestBinMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, shift := range []float32{0, -7.5, 1000, -3e6, 1e-30} {
		for _, n := range []int{1, 7, 31, 33, 100, laneMin - 1, laneMin, laneMin + 37, 50000} {
			for _, constant := range []bool{false, true} {
				data := binData(r, n, shift)
				if constant {
					for i := range data {
						data[i] = data[0]
					}
				}
				checkBin(t, fmt.Sprintf("shift %v n %d constant %v", shift, n, constant), data)
			}
		}
	}
}

// checkBin bins data on the grid of its own range and compares every cell
// with binReference.
func checkBin(t *testing.T, name string, data []float32) {
	t.Helper()
	h := newHistogram(Spec{Kind: KindHistogram, Bins: 2048})
	lo, hi, ok, err := batchRange(data, []int{len(data)})
	if !ok {
		t.Fatal(err)
	}
	h.regrid(lo, hi)
	want := binReference(h, data)
	h.bin(data)
	for i := range want {
		if h.cells[i] != want[i] {
			t.Fatalf("%s: cell %d = %d, want %d", name, i, h.cells[i], want[i])
		}
	}
}

// The vector path tallies the cell of 0 and the cell of max apart from the
// others and multiplies in float32 when that is exact: batches built to hit
// those shortcuts and their edges must still count like the reference.
func TestBinHotCellsAndSinglePrecision(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	negZero := float32(math.Copysign(0, -1))
	// Subnormals of every magnitude, down to the smallest.
	sub := func() float32 { return math.Float32frombits(uint32(1+r.IntN(7)) << r.IntN(21)) }
	cases := map[string]func(i int) float32{
		"all +0":         func(int) float32 { return 0 },
		"all -0":         func(int) float32 { return negZero },
		"mixed zeros":    func(int) float32 { return []float32{0, negZero}[r.IntN(2)] },
		"95% zeros":      func(int) float32 { return []float32{0, negZero, 0, float32(r.ExpFloat64())}[min(r.IntN(80), 3)] },
		"relu":           func(int) float32 { return max(0, float32(r.NormFloat64())) },
		"relu6":          func(int) float32 { return min(6, max(0, float32(r.NormFloat64()*4))) },
		"negative relu":  func(int) float32 { return min(0, float32(r.NormFloat64())) },
		"one outlier":    func(i int) float32 { return float32(i/7000) * 1e4 },
		"runs":           func(i int) float32 { return float32((i * 7919 / 13) % 5) },
		"run per lane":   func(i int) float32 { return float32(i % 8) },
		"wide negative":  func(int) float32 { return []float32{-sub(), -1e6, 3e5, negZero}[r.IntN(4)] },
		"wide positive":  func(int) float32 { return []float32{sub(), 1e6, 3e5, 0}[r.IntN(4)] },
		"tiny negative":  func(int) float32 { return []float32{-sub(), sub(), negZero}[r.IntN(3)] },
		"subnormal -min": func(int) float32 { return []float32{-math.SmallestNonzeroFloat32, 1e7}[r.IntN(2)] },
	}
	for name, gen := range cases {
		for _, n := range []int{laneMin, laneMin + 13, 70001} {
			data := make([]float32, n)
			for i := range data {
				data[i] = gen(i)
			}
			checkBin(t, fmt.Sprintf("%s n %d", name, n), data)
		}
	}
}

// BenchmarkHistogramBin bins one ResNet18-sized activation (64x112x112,
// ReLU output) into a 2048-cell histogram.
func BenchmarkHistogramBin(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	data := make([]float32, 64*112*112)
	for i := range data {
		data[i] = max(0, float32(r.NormFloat64()))
	}
	benchBin(b, data)
}

// BenchmarkHistogramBinReLU bins a ReLU output whose positive half is heavy
// tailed, as real activations are: half the values exactly 0 and most of
// the rest in the first few cells, a long tail setting the range.
func BenchmarkHistogramBinReLU(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	data := make([]float32, 64*112*112)
	for i := range data {
		if r.IntN(2) == 1 {
			x := r.NormFloat64()
			data[i] = float32(x * x * x * x)
		}
	}
	benchBin(b, data)
}

// benchBin times binning data, a [1, 64, 112, 112] activation, into a
// 2048-bin histogram whose grid it already set.
func benchBin(b *testing.B, data []float32) {
	h := newHistogram(Spec{Kind: KindHistogram, Bins: 2048})
	if err := h.Observe(data, []int{1, 64, 112, 112}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(4 * len(data)))
	for b.Loop() {
		h.bin(data)
	}
}
