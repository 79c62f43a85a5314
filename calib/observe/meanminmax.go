package observe

import (
	"fmt"
	"math"
	"slices"
)

// MeanMinMax keeps every batch's minimum and maximum, and its range is
// their means: a moving average of the per-batch extremes that weighs
// every batch equally (PyTorch's MovingAverageMinMaxObserver weighs the
// last ones most and depends on their order). Unlike MinMax, one batch with
// an outlier widens the range by only its share. The extremes are kept
// sorted, so a merge is exact and the range does not depend on the order
// of batches or merges.
type MeanMinMax struct {
	spec       Spec
	mins, maxs []float32
}

func newMeanMinMax(s Spec) *MeanMinMax { return &MeanMinMax{spec: s} }

// Spec implements Observer.
func (m *MeanMinMax) Spec() Spec { return m.spec }

// Observe implements Observer.
func (m *MeanMinMax) Observe(data []float32, shape []int) error {
	lo, hi, ok, err := batchRange(data, shape)
	if !ok {
		return err
	}
	m.insert(lo, hi)
	return nil
}

func (m *MeanMinMax) insert(lo, hi float32) {
	i, _ := slices.BinarySearch(m.mins, lo)
	m.mins = slices.Insert(m.mins, i, lo)
	j, _ := slices.BinarySearch(m.maxs, hi)
	m.maxs = slices.Insert(m.maxs, j, hi)
}

// Merge implements Observer.
func (m *MeanMinMax) Merge(other Observer) error {
	o, err := mergeCheck[*MeanMinMax](m.spec, other)
	if err != nil {
		return err
	}
	m.mins = append(m.mins, o.mins...)
	m.maxs = append(m.maxs, o.maxs...)
	slices.Sort(m.mins)
	slices.Sort(m.maxs)
	return nil
}

// Range implements Observer: the means of the batch minima and maxima.
func (m *MeanMinMax) Range() (float32, float32) {
	if len(m.mins) == 0 {
		return float32(math.Inf(1)), float32(math.Inf(-1))
	}
	mean := func(v []float32) float32 {
		var s float64
		for _, x := range v {
			s += float64(x)
		}
		return float32(s / float64(len(v)))
	}
	return mean(m.mins), mean(m.maxs)
}

// Count implements Observer: the number of non-empty batches.
func (m *MeanMinMax) Count() uint64 { return uint64(len(m.mins)) }

// State implements Observer.
func (m *MeanMinMax) State() State {
	st := State{Version: StateVersion, Spec: m.spec, Count: m.Count()}
	if st.Count > 0 {
		st.Min, st.Max = m.Range()
		st.Mins, st.Maxs = slices.Clone(m.mins), slices.Clone(m.maxs)
	}
	return st
}

func (m *MeanMinMax) restore(st State) error {
	if uint64(len(st.Mins)) != st.Count || uint64(len(st.Maxs)) != st.Count ||
		!slices.IsSorted(st.Mins) || !slices.IsSorted(st.Maxs) {
		return fmt.Errorf("%w: mean min/max state with count %d, %d mins, %d maxs (sorted)", ErrSpec, st.Count, len(st.Mins), len(st.Maxs))
	}
	for i := range st.Mins {
		if !isFinite32(st.Mins[i]) || !isFinite32(st.Maxs[i]) {
			return fmt.Errorf("%w: batch extremes %v, %v", ErrSpec, st.Mins[i], st.Maxs[i])
		}
	}
	m.mins, m.maxs = slices.Clone(st.Mins), slices.Clone(st.Maxs)
	if lo, hi := m.Range(); st.Count > 0 && (lo != st.Min || hi != st.Max) {
		return fmt.Errorf("%w: mean range [%v, %v] recorded as [%v, %v]", ErrSpec, lo, hi, st.Min, st.Max)
	}
	return nil
}
