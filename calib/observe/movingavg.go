package observe

import (
	"fmt"
)

// MovingAverage tracks exponential moving averages of the per-batch
// minimum and maximum, like PyTorch's MovingAverageMinMaxObserver (used
// for QAT): the first batch sets the averages, each later batch moves
// them by c*(batch extreme - average), in float32 arithmetic.
//
// The result depends on the order of the batches, so there is no exact
// merge of two non-empty observers: Merge accepts an empty side (a no-op
// or a copy, both exact) and otherwise returns ErrNotMergeable. Shard QAT
// by steps, not by data, or calibrate with MinMax/Histogram.
// Its count is the number of non-empty batches.
type MovingAverage struct{ extremes }

func newMovingAverage(s Spec) *MovingAverage { return &MovingAverage{newExtremes(s)} }

// Observe implements Observer.
func (m *MovingAverage) Observe(data []float32, shape []int) error {
	lo, hi, ok, err := batchRange(data, shape)
	if !ok {
		return err
	}
	if m.n == 0 {
		m.min, m.max = lo, hi
	} else {
		c := float32(m.spec.Averaging)
		// The explicit float32 conversions forbid fused multiply-add, so
		// the rounding matches PyTorch's separate float32 mul and add.
		m.min = m.min + float32(c*float32(lo-m.min))
		m.max = m.max + float32(c*float32(hi-m.max))
	}
	m.n++
	return nil
}

// Merge implements Observer; see the type doc for why only a merge with
// an empty side is allowed.
func (m *MovingAverage) Merge(other Observer) error {
	o, err := mergeCheck[*MovingAverage](m.spec, other)
	if err != nil {
		return err
	}
	switch {
	case o.n == 0:
		return nil
	case m.n == 0:
		m.n, m.min, m.max = o.n, o.min, o.max
		return nil
	}
	return fmt.Errorf("%w: moving averages depend on batch order (%d and %d batches)", ErrNotMergeable, m.n, o.n)
}

// State implements Observer.
func (m *MovingAverage) State() State {
	st := State{Version: StateVersion, Spec: m.spec, Count: m.n}
	if m.n > 0 {
		st.Min, st.Max = m.min, m.max
	}
	return st
}
