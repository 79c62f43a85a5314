package observe

import (
	"testing"
)

// TestMeanMinMaxAveragesBatchExtremes: three batches with extremes
// (-1, 2), (-3, 4) and (-2, 9) give the range (-2, 5), whatever the order
// of merges, and the state round-trips.
func TestMeanMinMaxAveragesBatchExtremes(t *testing.T) {
	batches := [][]float32{{-1, 0, 2}, {4, -3}, {9, -2, 1}}
	one, err := New(KindMeanMinMax)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range batches {
		if err := one.Observe(b, nil); err != nil {
			t.Fatal(err)
		}
	}
	if lo, hi := one.Range(); lo != -2 || hi != 5 {
		t.Errorf("range [%v, %v], want [-2, 5]", lo, hi)
	}
	a, _ := New(KindMeanMinMax)
	b, _ := New(KindMeanMinMax)
	_ = a.Observe(batches[2], nil)
	_ = b.Observe(batches[0], nil)
	_ = b.Observe(batches[1], nil)
	if err := a.Merge(b); err != nil {
		t.Fatal(err)
	}
	if a.State().Min != one.State().Min || a.State().Max != one.State().Max || a.Count() != 3 {
		t.Errorf("merged state %+v, want %+v", a.State(), one.State())
	}
	back, err := FromState(one.State())
	if err != nil {
		t.Fatal(err)
	}
	if lo, hi := back.Range(); lo != -2 || hi != 5 {
		t.Errorf("restored range [%v, %v], want [-2, 5]", lo, hi)
	}
	st := one.State()
	st.Max = 6
	if _, err := FromState(st); err == nil {
		t.Error("a state whose recorded mean disagrees with its extremes was accepted")
	}
}
