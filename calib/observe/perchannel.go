package observe

import (
	"fmt"
	"math"
	"slices"
)

// PerChannelMinMax tracks the exact minimum and maximum of each slice
// along one axis, like PyTorch's PerChannelMinMaxObserver (weights: axis 0
// for conv/linear, 1 for ungrouped conv-transpose). The channel count is
// fixed by the first batch.
type PerChannelMinMax struct {
	spec       Spec
	n          uint64
	mins, maxs []float32
}

func newPerChannel(s Spec) *PerChannelMinMax { return &PerChannelMinMax{spec: s} }

// Spec implements Observer.
func (p *PerChannelMinMax) Spec() Spec { return p.spec }

// Count implements Observer.
func (p *PerChannelMinMax) Count() uint64 { return p.n }

// Range implements Observer: the envelope of all channels.
func (p *PerChannelMinMax) Range() (float32, float32) {
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	for c := range p.mins {
		if c == 0 {
			lo, hi = p.mins[0], p.maxs[0]
			continue
		}
		lo, hi = min32(lo, p.mins[c]), max32(hi, p.maxs[c])
	}
	return lo, hi
}

// ChannelRanges implements PerChannel.
func (p *PerChannelMinMax) ChannelRanges() (mins, maxs []float32) {
	return slices.Clone(p.mins), slices.Clone(p.maxs)
}

// Observe implements Observer. shape is required.
func (p *PerChannelMinMax) Observe(data []float32, shape []int) error {
	if shape == nil {
		return fmt.Errorf("%w: per-channel observer needs the shape", ErrShape)
	}
	if err := checkShape(data, shape); err != nil {
		return err
	}
	axis := p.spec.Axis
	if axis < 0 {
		axis += len(shape)
	}
	if axis < 0 || axis >= len(shape) {
		return fmt.Errorf("%w: axis %d out of range for shape %v", ErrShape, p.spec.Axis, shape)
	}
	if len(data) == 0 {
		return nil
	}
	channels := shape[axis]
	if p.mins != nil && len(p.mins) != channels {
		return fmt.Errorf("%w: %d channels on axis %d, observer has %d", ErrShape, channels, axis, len(p.mins))
	}
	inner := 1
	for _, d := range shape[axis+1:] {
		inner *= d
	}
	// Validate the whole batch before touching the state.
	for i, x := range data {
		if !isFinite32(x) {
			return &NonFiniteError{Index: i, Value: x}
		}
	}
	lo := make([]float32, channels)
	hi := make([]float32, channels)
	seen := make([]bool, channels)
	for i, x := range data {
		c := (i / inner) % channels
		if !seen[c] {
			lo[c], hi[c], seen[c] = x, x, true
			continue
		}
		lo[c], hi[c] = min32(lo[c], x), max32(hi[c], x)
	}
	p.fold(uint64(len(data)), lo, hi)
	return nil
}

func (p *PerChannelMinMax) fold(n uint64, lo, hi []float32) {
	if n == 0 {
		return
	}
	if p.n == 0 {
		p.mins, p.maxs = slices.Clone(lo), slices.Clone(hi)
	} else {
		for c := range p.mins {
			p.mins[c], p.maxs[c] = min32(p.mins[c], lo[c]), max32(p.maxs[c], hi[c])
		}
	}
	p.n += n
}

// Merge implements Observer.
func (p *PerChannelMinMax) Merge(other Observer) error {
	o, err := mergeCheck[*PerChannelMinMax](p.spec, other)
	if err != nil {
		return err
	}
	if p.n > 0 && o.n > 0 && len(p.mins) != len(o.mins) {
		return fmt.Errorf("%w: %d channels into %d", ErrNotMergeable, len(o.mins), len(p.mins))
	}
	p.fold(o.n, o.mins, o.maxs)
	return nil
}

// State implements Observer.
func (p *PerChannelMinMax) State() State {
	return State{Version: StateVersion, Spec: p.spec, Count: p.n, Mins: slices.Clone(p.mins), Maxs: slices.Clone(p.maxs)}
}
