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
