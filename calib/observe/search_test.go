package observe

import (
	"math"
	"math/rand/v2"
	"testing"
)

// numericL2 integrates the squared quantization error of a histogram
// (unit-width bins, uniform density inside each) numerically: every value
// goes to the nearest of levels reconstruction points spread evenly over
// bins start..end, values outside to the nearest end point. It shares no
// code or closed form with l2Error.
func numericL2(counts []uint64, start, end, levels int) float64 {
	lo, hi := float64(start), float64(end+1)
	step := (hi - lo) / float64(levels)
	recon := func(x float64) float64 { // nearest reconstruction point
		j := math.Min(math.Max(math.Floor((x-lo)/step), 0), float64(levels-1))
		return lo + (j+0.5)*step
	}
	const samples = 2000 // midpoint rule per bin
	var sum float64
	for i, c := range counts {
		if c == 0 {
			continue
		}
		var s float64
		for k := range samples {
			x := float64(i) + (float64(k)+0.5)/samples
			d := x - recon(x)
			s += d * d
		}
		sum += float64(c) * s / samples
	}
	return sum
}

func randomCounts(r *rand.Rand, n int) []uint64 {
	c := make([]uint64, n)
	for i := range c {
		if r.IntN(4) > 0 {
			c[i] = uint64(r.IntN(50))
		}
	}
	c[0]++
	c[n-1]++
	return c
}

func TestL2ErrorMatchesNumericIntegration(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := range 30 {
		counts := randomCounts(r, 5+r.IntN(20))
		start := r.IntN(len(counts))
		end := start + r.IntN(len(counts)-start)
		levels := []int{2, 3, 4, 8, 64}[r.IntN(5)]
		got := l2Error(counts, start, end, levels)
		want := numericL2(counts, start, end, levels)
		if math.Abs(got-want) > 1e-5*want+1e-9 {
			t.Errorf("trial %d: %d bins, range %d..%d, %d levels: %g, numeric %g", trial, len(counts), start, end, levels, got, want)
		}
	}
}

// bruteForce returns the (start, end) with the smallest numeric error over
// all pairs.
func bruteForce(counts []uint64, levels int) (int, int, float64) {
	bs, be, best := 0, 0, math.Inf(1)
	for s := range counts {
		for e := s; e < len(counts); e++ {
			if v := numericL2(counts, s, e, levels); v < best*(1-1e-9) {
				bs, be, best = s, e, v
			}
		}
	}
	return bs, be, best
}

// slowGreedy is a plain re-statement of PyTorch's
// _non_linear_param_search as documented (quantile bounds alpha/beta in
// steps of 1e-5, move the end that moves more bins, stop at the first
// error increase), recomputing every cumulative sum from scratch and
// using numericL2 for the error.
func slowGreedy(counts []uint64, levels int) (int, int) {
	var total float64
	for _, c := range counts {
		total += float64(c)
	}
	below := func(i int) float64 { // values in bins 0..i
		var s float64
		for _, c := range counts[:i+1] {
			s += float64(c)
		}
		return s
	}
	alpha, beta := 0.0, 1.0
	start, end := 0, len(counts)-1
	best := math.Inf(1)
	for alpha < beta {
		na, nb := alpha+1e-5, beta-1e-5
		l := start
		for l < end && below(l) < na*total {
			l++
		}
		r := end
		for r > start && below(r) > nb*total {
			r--
		}
		ns, ne := start, end
		if l-start > end-r {
			ns, alpha = l, na
		} else {
			ne, beta = r, nb
		}
		if ns == start && ne == end {
			continue
		}
		v := numericL2(counts, ns, ne, levels)
		if v > best {
			break
		}
		best, start, end = v, ns, ne
	}
	return start, end
}

func TestSearchMatchesASlowReferenceOfTheSameAlgorithm(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	for trial := range 40 {
		counts := randomCounts(r, 4+r.IntN(12))
		if trial%2 == 0 { // large totals make the quantile steps jump
			for i := range counts {
				counts[i] *= 100000
			}
		}
		levels := []int{2, 4, 8, 256}[r.IntN(4)]
		s, e := searchL2(counts, levels)
		rs, re := slowGreedy(counts, levels)
		if s != rs || e != re {
			t.Errorf("trial %d %v, %d levels: search %d..%d, reference %d..%d", trial, counts, levels, s, e, rs, re)
		}
	}
}

func TestSearchVersusBruteForceOptimum(t *testing.T) {
	// PyTorch's search is greedy: its first step is always accepted (the
	// error is compared with +Inf) and must shed at least 1e-5 of the mass
	// from one end, which removes that end's whole bin; it then stops at
	// the first error increase. So it reaches the L2 optimum over all
	// (start, end) pairs only in some cases. Both kinds are pinned here
	// against the brute force, which shares no code with the search.
	cases := []struct {
		name    string
		counts  []uint64
		levels  int
		optimal bool // does the greedy search land on the brute-force optimum?
	}{
		// The first step jumps over the gap and drops only the outlier.
		{"outlier+bump", []uint64{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1e6, 5e6, 1e7, 5e6, 1e6}, 16, true},
		// Full bins at both ends: the optimum keeps everything, the first
		// forced step trims one bin.
		{"flat", []uint64{10, 10, 10, 10, 10, 10, 10, 10}, 4, false},
		// The jump over the gap also drops the bump's last bin (1e6).
		{"bump+outlier", []uint64{1e6, 2e6, 3e6, 4e6, 5e6, 5e6, 4e6, 3e6, 2e6, 1e6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}, 64, false},
	}
	for _, c := range cases {
		s, e := searchL2(c.counts, c.levels)
		bs, be, best := bruteForce(c.counts, c.levels)
		got := numericL2(c.counts, s, e, c.levels)
		t.Logf("%s, %d levels: search %d..%d (err %.5g), brute force %d..%d (err %.5g)",
			c.name, c.levels, s, e, got, bs, be, best)
		if same := s == bs && e == be; same != c.optimal {
			t.Errorf("%s: search %d..%d, brute force %d..%d; expected optimal=%v", c.name, s, e, bs, be, c.optimal)
		}
		if got < best*(1-1e-9) {
			t.Errorf("%s: search error %g below the brute-force minimum %g", c.name, got, best)
		}
	}
}
