package observe

import "math"

// MinMax tracks the exact running minimum and maximum, like PyTorch's
// MinMaxObserver. Merging is exact because min and max are associative
// and commutative.
type MinMax struct{ extremes }

func newMinMax(s Spec) *MinMax { return &MinMax{newExtremes(s)} }

// extremes is the state MinMax and MovingAverage share: a count and a
// range, empty as (+Inf, -Inf). Range is the exact or the averaged extrema.
type extremes struct {
	spec     Spec
	n        uint64
	min, max float32
}

func newExtremes(s Spec) extremes {
	return extremes{spec: s, min: float32(math.Inf(1)), max: float32(math.Inf(-1))}
}

// Spec implements Observer.
func (e *extremes) Spec() Spec { return e.spec }

// Count implements Observer.
func (e *extremes) Count() uint64 { return e.n }

// Range implements Observer.
func (e *extremes) Range() (float32, float32) { return e.min, e.max }

// Observe implements Observer.
func (m *MinMax) Observe(data []float32, shape []int) error {
	lo, hi, ok, err := batchRange(data, shape)
	if !ok {
		return err
	}
	m.fold(uint64(len(data)), lo, hi)
	return nil
}

func (m *MinMax) fold(n uint64, lo, hi float32) {
	if n == 0 {
		return
	}
	if m.n == 0 {
		m.min, m.max = lo, hi
	} else {
		m.min, m.max = min32(m.min, lo), max32(m.max, hi)
	}
	m.n += n
}

// Merge implements Observer.
func (m *MinMax) Merge(other Observer) error {
	o, err := mergeCheck[*MinMax](m.spec, other)
	if err != nil {
		return err
	}
	m.fold(o.n, o.min, o.max)
	return nil
}

// State implements Observer.
func (m *MinMax) State() State {
	st := State{Version: StateVersion, Spec: m.spec, Count: m.n}
	if m.n > 0 {
		st.Min, st.Max = m.min, m.max
	}
	return st
}
