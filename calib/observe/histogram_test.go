package observe

import (
	"bytes"
	"encoding/json"
	"math"
	"math/big"
	"math/rand/v2"
	"reflect"
	"testing"
)

// batches returns calibration-like batches whose ranges keep growing in
// both directions, so the histogram has to move to coarser levels and
// shift its window many times, plus some all-zero and constant batches.
func batches(seed uint64, n int) [][]float32 {
	r := rand.New(rand.NewPCG(seed, 7))
	out := [][]float32{{0, 0, 0}, {0.125, 0.125}}
	for i := range n {
		scale := math.Pow(2, float64(r.IntN(20)-10))
		shift := (r.Float64() - 0.5) * float64(i)
		b := make([]float32, 1+r.IntN(300))
		for j := range b {
			b[j] = float32(shift + scale*r.NormFloat64())
		}
		out = append(out, b)
	}
	return append(out, []float32{1e-30, -1e-30}, []float32{3e6})
}

func run(t *testing.T, s Spec, bs ...[][]float32) Observer {
	t.Helper()
	o := mustNew(t, s)
	for _, set := range bs {
		for _, b := range set {
			mustObserve(t, o, b)
		}
	}
	return o
}

func merged(t *testing.T, parts ...Observer) Observer {
	t.Helper()
	o := mustNew(t, parts[0].Spec())
	for _, p := range parts {
		if err := o.Merge(p); err != nil {
			t.Fatal(err)
		}
	}
	return o
}

func stateJSON(t *testing.T, o Observer) []byte {
	t.Helper()
	b, err := json.Marshal(o.State())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHistogramMergeIsExactAndOrderFree(t *testing.T) {
	for _, s := range []Spec{{Kind: KindHistogram}, {Kind: KindPercentile, Bins: 64}, {Kind: KindMinMax}} {
		A, B, C := batches(1, 40), batches(2, 25), batches(3, 10)
		want := stateJSON(t, run(t, s, A, B, C))
		variants := map[string]Observer{
			"C,B,A":               run(t, s, C, B, A),
			"B,A,C":               run(t, s, B, A, C),
			"merge(A,B,C)":        merged(t, run(t, s, A), run(t, s, B), run(t, s, C)),
			"merge(C,A,B)":        merged(t, run(t, s, C), run(t, s, A), run(t, s, B)),
			"merge(merge(B,C),A)": merged(t, merged(t, run(t, s, B), run(t, s, C)), run(t, s, A)),
		}
		// Merge two shards, then keep observing.
		ab := merged(t, run(t, s, A), run(t, s, B))
		for _, b := range C {
			mustObserve(t, ab, b)
		}
		variants["merge(A,B), then observe C"] = ab
		// Every batch its own shard, merged in reverse order.
		all := append(append(append([][]float32{}, A...), B...), C...)
		shards := make([]Observer, 0, len(all))
		for i := len(all) - 1; i >= 0; i-- {
			shards = append(shards, run(t, s, [][]float32{all[i]}))
		}
		variants["one shard per batch, reversed"] = merged(t, shards...)
		for name, o := range variants {
			if got := stateJSON(t, o); !bytes.Equal(got, want) {
				t.Errorf("%s %s: state differs from one run over A,B,C", s.Kind, name)
			}
		}
	}
}

// floorDiv computes floor(x / 2^e) with exact rational arithmetic.
func floorDiv(x float32, e int) int64 {
	r := new(big.Rat).SetFloat64(float64(x))
	p := new(big.Rat).SetInt(new(big.Int).Lsh(big.NewInt(1), uint(abs(e))))
	if e >= 0 {
		r.Quo(r, p)
	} else {
		r.Mul(r, p)
	}
	q := new(big.Int).Div(r.Num(), r.Denom()) // Euclidean: floor for positive denominators
	return q.Int64()
}

func abs(e int) int {
	if e < 0 {
		return -e
	}
	return e
}

func TestHistogramCountsAreTheExactGridCounts(t *testing.T) {
	const bins = 256
	data := batches(9, 30)
	h := run(t, Spec{Kind: KindHistogram, Bins: bins}, data)
	st := h.State()
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	got := map[int64]uint64{}
	for _, b := range data {
		for _, x := range b {
			lo, hi = min(lo, x), max(hi, x)
		}
	}
	for _, b := range data {
		for _, x := range b {
			got[floorDiv(x, st.Exp)]++
		}
	}
	if st.Min != lo || st.Max != hi {
		t.Fatalf("range [%v, %v], want [%v, %v]", st.Min, st.Max, lo, hi)
	}
	if st.Offset != floorDiv(lo, st.Exp) || int64(len(st.Counts)) != floorDiv(hi, st.Exp)-st.Offset+1 {
		t.Fatalf("window offset %d len %d at level %d", st.Offset, len(st.Counts), st.Exp)
	}
	for i, c := range st.Counts {
		if c != got[st.Offset+int64(i)] {
			t.Fatalf("cell %d: %d, want %d", st.Offset+int64(i), c, got[st.Offset+int64(i)])
		}
	}
	// The level is the finest at which the data fits in bins cells.
	if floorDiv(hi, st.Exp-1)-floorDiv(lo, st.Exp-1) < bins {
		t.Fatalf("level %d is not minimal", st.Exp)
	}
	if len(st.Counts) < bins/2-1 {
		t.Fatalf("only %d of %d cells used", len(st.Counts), bins)
	}
}

func TestHistogramOfUniformDataKeepsTheFullRange(t *testing.T) {
	const n = 100000
	data := make([]float32, n)
	for i := range data {
		data[i] = (float32(i) + 0.5) / n
	}
	h := run(t, Spec{Kind: KindHistogram}, [][]float32{data})
	lo, hi := h.Range()
	if lo < 0 || lo > 0.01 || hi < 0.99 || hi > 1 {
		t.Fatalf("searched range [%v, %v], want about [0, 1]", lo, hi)
	}
	t.Logf("uniform [0,1): searched range [%v, %v]", lo, hi)
}

func TestHistogramSearchClipsAFarOutlier(t *testing.T) {
	// The search minimises L2 error, so clipping one outlier must pay for
	// itself: clipped at ~5 it costs ~995^2 ≈ 1e6, while keeping it costs
	// the granular noise N*(1005/256)^2/12 ≈ 1.28*N. With N = 3.2e6
	// Gaussian values (100k observed, then doubled 5 times by exact
	// merges) clipping wins by 4x; with N = 1e5 it would not.
	r := rand.New(rand.NewPCG(5, 5))
	data := make([]float32, 100000)
	for i := range data {
		data[i] = float32(r.NormFloat64())
	}
	h := run(t, Spec{Kind: KindHistogram}, [][]float32{data})
	for range 5 {
		if err := h.Merge(h); err != nil {
			t.Fatal(err)
		}
	}
	mustObserve(t, h, []float32{1000})
	lo, hi := h.Range()
	if hi > 10 || lo > -2 || lo < -10 {
		t.Fatalf("searched range [%v, %v]: want the outlier at 1000 clipped", lo, hi)
	}
	if _, mx := h.(*Histogram).MinMax(); mx != 1000 || h.Count() != 3200001 {
		t.Fatalf("exact max %v over %d values", mx, h.Count())
	}
	t.Logf("3.2e6 x N(0,1) + outlier 1000: searched range [%v, %v]", lo, hi)
}

func TestPercentileRangeOfEvenlySpreadData(t *testing.T) {
	data := make([]float32, 100000)
	for i := range data {
		data[i] = float32(i) + 0.5
	}
	p := run(t, Spec{Kind: KindPercentile, Percentile: 99}, [][]float32{data})
	// 0.5% of 100000 values = 500 on each side.
	lo, hi := p.Range()
	if math.Abs(float64(lo)-500) > 1 || math.Abs(float64(hi)-99500) > 1 {
		t.Fatalf("99%% range [%v, %v], want about [500, 99500]", lo, hi)
	}
	full := p.(*Histogram)
	if lo, hi := full.PercentileRange(100); lo != 0.5 || hi != 99999.5 {
		t.Fatalf("100%% range [%v, %v], want exact extrema", lo, hi)
	}
}

func TestHistogramMemoryDoesNotGrowWithSamples(t *testing.T) {
	h := mustNew(t, Spec{Kind: KindHistogram}).(*Histogram)
	r := rand.New(rand.NewPCG(1, 2))
	batch := make([]float32, 64)
	fill := func(i int) {
		for j := range batch {
			batch[j] = float32(r.NormFloat64() * float64(1+i%97))
		}
	}
	fill(0)
	mustObserve(t, h, batch)
	cap0 := cap(h.cells)
	for i := range 10000 {
		fill(i)
		mustObserve(t, h, batch)
	}
	if h.Count() != 10001*64 || len(h.cells) != DefaultBins || cap(h.cells) != cap0 {
		t.Fatalf("count %d, %d cells (cap %d, was %d)", h.Count(), len(h.cells), cap(h.cells), cap0)
	}
	if n := len(h.State().Counts); n > DefaultBins {
		t.Fatalf("state has %d cells", n)
	}
	allocs := testing.AllocsPerRun(100, func() {
		fill(r.IntN(1000))
		_ = h.Observe(batch, nil)
	})
	if allocs != 0 {
		t.Fatalf("Observe allocates %v times per batch", allocs)
	}
}

func TestHistogramStateRoundTripsThroughJSON(t *testing.T) {
	for _, s := range []Spec{
		{Kind: KindHistogram}, {Kind: KindPercentile}, {Kind: KindMinMax},
		{Kind: KindMovingAverageMinMax}, {Kind: KindPerChannelMinMax, Axis: 1},
	} {
		o := mustNew(t, s)
		negZero := float32(math.Copysign(0, -1))
		mustObserve(t, o, []float32{negZero, 0.1, 1.0 / 3, 7e-8, 2.5e-39}, 1, 5)
		mustObserve(t, o, []float32{negZero, 3, -0.7, 1e-45, 12345.678}, 1, 5)
		b := stateJSON(t, o)
		var st State
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatal(err)
		}
		back, err := FromState(st)
		if err != nil {
			t.Fatalf("%s: %v\n%s", s.Kind, err, b)
		}
		if !reflect.DeepEqual(back.State(), o.State()) || !bytes.Equal(stateJSON(t, back), b) {
			t.Errorf("%s: round trip differs", s.Kind)
		}
		lo1, hi1 := o.Range()
		lo2, hi2 := back.Range()
		if math.Float32bits(lo1) != math.Float32bits(lo2) || math.Float32bits(hi1) != math.Float32bits(hi2) {
			t.Errorf("%s: range differs after round trip", s.Kind)
		}
		// Empty observers round-trip too.
		e := mustNew(t, s)
		if back, err := FromState(e.State()); err != nil || !reflect.DeepEqual(back.State(), e.State()) {
			t.Errorf("%s empty: %v", s.Kind, err)
		}
	}
}

func TestFromStateRejectsNonCanonicalHistograms(t *testing.T) {
	h := run(t, Spec{Kind: KindHistogram, Bins: 16}, [][]float32{{0, 1, 2, 3, 4, 5, 6, 7}})
	good := h.State()
	mutate := map[string]func(*State){
		"count":   func(s *State) { s.Count++ },
		"level":   func(s *State) { s.Exp-- },
		"offset":  func(s *State) { s.Offset++ },
		"cells":   func(s *State) { s.Counts = append(s.Counts, 0) },
		"range":   func(s *State) { s.Min, s.Max = s.Max, s.Min },
		"version": func(s *State) { s.Version = 0 },
		"spec":    func(s *State) { s.Spec.Bits = 0 },
	}
	for name, m := range mutate {
		st := good
		st.Counts = append([]uint64(nil), good.Counts...)
		m(&st)
		if _, err := FromState(st); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestParseStateRejectsUnknownFields(t *testing.T) {
	o := run(t, Spec{Kind: KindMinMax}, [][]float32{{1, 2}})
	good := stateJSON(t, o)
	if back, err := ParseState(good); err != nil || !reflect.DeepEqual(back.State(), o.State()) {
		t.Fatalf("good state: %v", err)
	}
	bad := bytes.Replace(good, []byte(`"max"`), []byte(`"maxx"`), 1)
	if _, err := ParseState(bad); err == nil {
		t.Fatalf("accepted %s", bad)
	}
}
