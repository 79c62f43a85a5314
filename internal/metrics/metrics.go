// Package metrics measures how far a quantized model's outputs are from
// the float model's: SQNR, maximum absolute error, and agreement of the
// decisions (argmax of class scores, a threshold on probabilities).
package metrics

import "math"

// SQNR is the signal-to-quantization-noise ratio in dB of got against ref:
// 10·log10(Σref² / Σ(ref−got)²). Identical tensors give +Inf.
func SQNR(ref, got []float32) float64 {
	var sig, noise float64
	for i := range ref {
		r := float64(ref[i])
		d := r - float64(got[i])
		sig += r * r
		noise += d * d
	}
	if noise == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(sig/noise)
}

// MaxAbsError is the largest |ref−got|.
func MaxAbsError(ref, got []float32) float64 {
	m := 0.0
	for i := range ref {
		m = math.Max(m, math.Abs(float64(ref[i])-float64(got[i])))
	}
	return m
}

// Argmax returns the index of the largest value of each row of length n.
func Argmax(x []float32, n int) []int {
	if n <= 0 {
		return nil
	}
	out := make([]int, 0, len(x)/n)
	for r := 0; r+n <= len(x); r += n {
		best := r
		for i := r + 1; i < r+n; i++ {
			if x[i] > x[best] {
				best = i
			}
		}
		out = append(out, best-r)
	}
	return out
}

// Agreement is the fraction of equal entries.
func Agreement(a, b []int) float64 {
	if len(a) == 0 {
		return 1
	}
	same := 0
	for i := range a {
		if a[i] == b[i] {
			same++
		}
	}
	return float64(same) / float64(len(a))
}

// Threshold returns 1 where x ≥ t, else 0.
func Threshold(x []float32, t float32) []int {
	out := make([]int, len(x))
	for i, v := range x {
		if v >= t {
			out[i] = 1
		}
	}
	return out
}

// Accumulator sums SQNR terms over many samples, so the ratio of a data
// set is taken over all of its values rather than averaged per sample.
type Accumulator struct {
	Signal, Noise float64
	MaxAbs        float64
	N             int
	// Peak is the largest |reference| value; LogSum sums log10|reference|
	// over the NonZero values that are not zero. Together they give how
	// many decades below its peak a tensor's typical value lies, which is
	// what a uniform 8-bit grid (two decades) cannot hold.
	Peak    float64
	LogSum  float64
	NonZero int
}

// Decades is log10 of the reference's peak over the geometric mean of its
// non-zero magnitudes (0 when nothing non-zero was compared).
func (a *Accumulator) Decades() float64 {
	if a.NonZero == 0 || a.Peak == 0 {
		return 0
	}
	return math.Log10(a.Peak) - a.LogSum/float64(a.NonZero)
}

// Add folds one sample in.
func (a *Accumulator) Add(ref, got []float32) {
	for i := range ref {
		r := float64(ref[i])
		d := r - float64(got[i])
		a.Signal += r * r
		a.Noise += d * d
		a.MaxAbs = math.Max(a.MaxAbs, math.Abs(d))
		if r != 0 {
			a.Peak = math.Max(a.Peak, math.Abs(r))
			a.LogSum += math.Log10(math.Abs(r))
			a.NonZero++
		}
	}
	a.N++
}

// SQNR is the data set's SQNR in dB.
func (a *Accumulator) SQNR() float64 {
	if a.Noise == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(a.Signal/a.Noise)
}
