package observe

import (
	"math"
	"testing"
)

// TestGridErrorCountsSaturationAndRounding builds a histogram of values
// spread evenly over [0, 1) and scores two grids: one covering [0, 1]
// finely (only rounding, about step²/12 per value) and one covering
// [0, 0.5] (the upper half saturates: Σ (x − 0.5)² over x in [0.5, 1),
// about n/24).
func TestGridErrorCountsSaturationAndRounding(t *testing.T) {
	h, err := Spec{Kind: KindHistogram}.New()
	if err != nil {
		t.Fatal(err)
	}
	const n = 100000
	data := make([]float32, n)
	for i := range data {
		data[i] = float32(i) / n
	}
	if err := h.Observe(data, nil); err != nil {
		t.Fatal(err)
	}
	hist := h.(*Histogram)
	step := float32(1.0 / 255)
	fine := hist.GridError(step, -128, -128, 127)
	if want := n * float64(step) * float64(step) / 12; math.Abs(fine-want) > 0.2*want {
		t.Errorf("rounding error %g, want about %g", fine, want)
	}
	half := hist.GridError(0.5/255, -128, -128, 127)
	if want := float64(n) / 24; math.Abs(half-want) > 0.05*want {
		t.Errorf("saturation error %g, want about %g", half, want)
	}
}

// TestGridErrorGivesNoCreditForAlignedValues observes values that are all
// points of a grid of step 0.015 over [0, 2.55] and scores that grid and
// the finer one of step 0.01 over the same range (no saturation on
// either): new values round by scale²/12 on average whatever the observed
// ones did, so the finer grid must score lower, by the ratio of the squared
// steps, although the observed values sit exactly on the coarser grid's
// points and halfway between the finer grid's for one in two.
func TestGridErrorGivesNoCreditForAlignedValues(t *testing.T) {
	h, err := Spec{Kind: KindHistogram}.New()
	if err != nil {
		t.Fatal(err)
	}
	var data []float32
	for k := 0; k <= 170; k++ {
		data = append(data, float32(k)*0.015)
	}
	if err := h.Observe(data, nil); err != nil {
		t.Fatal(err)
	}
	hist := h.(*Histogram)
	fine := hist.GridError(0.01, -128, -128, 127)
	coarse := hist.GridError(0.015, -128, -128, 127)
	n := float64(len(data))
	if want := n * 0.01 * 0.01 / 12; math.Abs(fine-want) > 0.01*want {
		t.Errorf("fine grid: error %g, want %g (n·step²/12)", fine, want)
	}
	if want := n * 0.015 * 0.015 / 12; math.Abs(coarse-want) > 0.01*want {
		t.Errorf("coarse grid: error %g, want %g (n·step²/12)", coarse, want)
	}
}
