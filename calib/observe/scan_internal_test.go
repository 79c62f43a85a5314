package observe

import (
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// slowExtrema is the definition extrema must match: a fold under less32
// with a finiteness test per element.
func slowExtrema(data []float32) (lo, hi float32, err error) {
	lo, hi = data[0], data[0]
	for i, x := range data {
		if !isFinite32(x) {
			return 0, 0, &NonFiniteError{Index: i, Value: x}
		}
		if less32(x, lo) {
			lo = x
		}
		if less32(hi, x) {
			hi = x
		}
	}
	return lo, hi, nil
}

func TestOrderKeyInfinities(t *testing.T) {
	if got := orderKey(float32(math.Inf(-1))); got != keyNegInf {
		t.Errorf("key(-Inf) = %d, want %d", got, keyNegInf)
	}
	if got := orderKey(float32(math.Inf(1))); got != keyPosInf {
		t.Errorf("key(+Inf) = %d, want %d", got, keyPosInf)
	}
	if orderKey(float32(math.Copysign(0, -1))) >= orderKey(0) {
		t.Error("-0 must order below +0")
	}
	if orderKey(-math.MaxFloat32) <= keyNegInf || orderKey(math.MaxFloat32) >= keyPosInf {
		t.Error("finite extremes must lie strictly inside the infinities")
	}
}

// TestExtremaMatchesFold checks the keyed scan against the element-wise
// fold on signed zeros, subnormals, odd lengths and non-finite values.
func TestExtremaMatchesFold(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	nan := float32(math.NaN())
	negNaN := math.Float32frombits(0xffc00000)
	inf := float32(math.Inf(1))
	cases := [][]float32{
		{0}, {negZero}, {0, negZero}, {negZero, 0, 0, 0, 0}, {0, 0, 0, 0, 0, negZero},
		{1, 2, 3, 4, 5, 6, 7}, {-1, -2, -3}, {math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32},
		{math.MaxFloat32, -math.MaxFloat32, 0, 1},
		{1, 2, 3, 4, 5, nan}, {1, 2, negNaN, 4}, {1, 2, 3, 4, 5, 6, 7, 8, -inf}, {inf}, {0, 0, 0, nan, inf},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for n := 1; n < 40; n++ {
		d := make([]float32, n)
		for i := range d {
			switch r.IntN(5) {
			case 0:
				d[i] = 0
			case 1:
				d[i] = negZero
			default:
				d[i] = float32(r.NormFloat64())
			}
		}
		cases = append(cases, d)
	}
	// Long enough for the vector path, with the extreme, a signed zero or
	// a non-finite value at every kind of position.
	for _, n := range []int{32, 33, 64, 100, 1000, 4099} {
		for _, pos := range []int{0, 1, 31, 32, n / 2, n - 1} {
			if pos >= n {
				continue
			}
			for _, v := range []float32{negZero, 0, 1e30, -1e30, nan, negNaN, inf, -inf} {
				d := make([]float32, n)
				for i := range d {
					d[i] = float32(r.Float64())
				}
				if v == 0 { // zeros only: the sign of the extremes decides
					clear(d)
				}
				d[pos] = v
				cases = append(cases, d)
			}
		}
	}
	for _, d := range cases {
		lo, hi, err := extrema(d)
		wlo, whi, werr := slowExtrema(d)
		if (err == nil) != (werr == nil) {
			t.Fatalf("%v: err %v, want %v", d, err, werr)
		}
		if werr != nil {
			var a, b *NonFiniteError
			if !errors.As(err, &a) || !errors.As(werr, &b) || a.Index != b.Index {
				t.Fatalf("len %d: err %v, want %v", len(d), err, werr)
			}
			continue
		}
		if math.Float32bits(lo) != math.Float32bits(wlo) || math.Float32bits(hi) != math.Float32bits(whi) {
			t.Fatalf("len %d: extrema (%v, %v), want (%v, %v)", len(d), lo, hi, wlo, whi)
		}
	}
}

func benchData(n int) []float32 {
	r := rand.New(rand.NewPCG(3, 4))
	d := make([]float32, n)
	for i := range d {
		if v := float32(r.NormFloat64()); v > 0 { // ReLU-like: half zeros
			d[i] = v
		}
	}
	return d
}

func BenchmarkExtrema(b *testing.B) {
	d := benchData(200704)
	b.SetBytes(int64(4 * len(d)))
	for b.Loop() {
		_, _, _ = extrema(d)
	}
}

func BenchmarkHistogramObserve(b *testing.B) {
	d := benchData(200704)
	h := newHistogram(Spec{Kind: KindHistogram, Bins: 2048, Bits: 8})
	b.SetBytes(int64(4 * len(d)))
	for b.Loop() {
		if err := h.Observe(d, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSlowExtrema(b *testing.B) {
	d := benchData(200704)
	b.SetBytes(int64(4 * len(d)))
	for b.Loop() {
		_, _, _ = slowExtrema(d)
	}
}

// TestHistogramLanesExact feeds one large batch (counted in lanes) and the
// same values in small batches (counted directly): the states must match.
func TestHistogramLanesExact(t *testing.T) {
	d := benchData(3*laneMin + 7)
	d[5] = float32(math.Copysign(0, -1))
	d[17] = -3.5
	spec := Spec{Kind: KindHistogram, Bins: 2048, Bits: 8}
	whole, parts := newHistogram(spec), newHistogram(spec)
	if err := whole.Observe(d, nil); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(d); i += 1000 {
		if err := parts.Observe(d[i:min(i+1000, len(d))], nil); err != nil {
			t.Fatal(err)
		}
	}
	a, b := whole.State(), parts.State()
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("lane counting changed the state: %+v vs %+v", a.Counts[:8], b.Counts[:8])
	}
	var sum uint64
	for _, c := range a.Counts {
		sum += c
	}
	if sum != uint64(len(d)) {
		t.Fatalf("counts sum to %d, want %d", sum, len(d))
	}
}
