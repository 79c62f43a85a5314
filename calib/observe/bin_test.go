package observe

import (
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
						t.Fatalf("shift %v n %d constant %v: cell %d = %d, want %d", shift, n, constant, i, h.cells[i], want[i])
					}
				}
			}
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
	h := newHistogram(Spec{Kind: KindHistogram, Bins: 2048})
	if err := h.Observe(data, []int{1, 64, 112, 112}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(4 * len(data)))
	for b.Loop() {
		h.bin(data)
	}
}
