package observe

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// StateVersion is written into every State; FromState rejects others.
const StateVersion = 1

// State is the serialisable form of an observer, meant for stats.json.
// encoding/json writes float32 fields with the shortest text that parses
// back to the same bits, so a JSON round trip is exact. Which fields are
// set depends on Spec.Kind: Min/Max for per-tensor kinds, Mins/Maxs for
// per-channel, and Exp/Offset/Counts (the occupied cells of the grid, see
// the package doc) for histogram kinds. Min and Max are 0 when Count is 0
// (JSON has no infinities).
type State struct {
	Version int       `json:"version"`
	Spec    Spec      `json:"spec"`
	Count   uint64    `json:"count"`
	Min     float32   `json:"min"`
	Max     float32   `json:"max"`
	Mins    []float32 `json:"mins,omitempty"`
	Maxs    []float32 `json:"maxs,omitempty"`
	Exp     int       `json:"exp,omitempty"`
	Offset  int64     `json:"offset,omitempty"`
	Counts  []uint64  `json:"counts,omitempty"`
}

// FromState rebuilds the observer a State was taken from. It checks the
// state for consistency (a hand-edited or truncated stats.json must not
// produce an observer that later merges wrongly) and returns an error
// wrapping ErrSpec when it is not.
func FromState(st State) (Observer, error) {
	if st.Version != StateVersion {
		return nil, fmt.Errorf("%w: state version %d, want %d", ErrSpec, st.Version, StateVersion)
	}
	spec, err := st.Spec.Normalize()
	if err != nil {
		return nil, err
	}
	if spec != st.Spec {
		return nil, fmt.Errorf("%w: spec %+v is not normalised (%+v)", ErrSpec, st.Spec, spec)
	}
	if st.Count > 0 && spec.Kind != KindPerChannelMinMax {
		// Moving averages are only checked for finiteness: float32
		// rounding of the two averages is not guaranteed to keep them
		// ordered, and a state the observer produced must load.
		ordered := spec.Kind == KindMovingAverageMinMax || !less32(st.Max, st.Min)
		if !isFinite32(st.Min) || !isFinite32(st.Max) || !ordered {
			return nil, fmt.Errorf("%w: range [%v, %v]", ErrSpec, st.Min, st.Max)
		}
	}
	o, err := spec.New()
	if err != nil {
		return nil, err
	}
	switch o := o.(type) {
	case *MinMax:
		if st.Count > 0 {
			o.fold(st.Count, st.Min, st.Max)
		}
	case *MovingAverage:
		if st.Count > 0 {
			o.n, o.min, o.max = st.Count, st.Min, st.Max
		}
	case *PerChannelMinMax:
		err = o.restore(st)
	case *MeanMinMax:
		err = o.restore(st)
	case *Histogram:
		err = o.restore(st)
	}
	if err != nil {
		return nil, err
	}
	return o, nil
}

func (p *PerChannelMinMax) restore(st State) error {
	if len(st.Mins) != len(st.Maxs) || (st.Count == 0) != (len(st.Mins) == 0) {
		return fmt.Errorf("%w: per-channel state with count %d, %d mins, %d maxs", ErrSpec, st.Count, len(st.Mins), len(st.Maxs))
	}
	for c := range st.Mins {
		if !isFinite32(st.Mins[c]) || !isFinite32(st.Maxs[c]) || less32(st.Maxs[c], st.Mins[c]) {
			return fmt.Errorf("%w: channel %d range [%v, %v]", ErrSpec, c, st.Mins[c], st.Maxs[c])
		}
	}
	p.fold(st.Count, st.Mins, st.Maxs)
	return nil
}

// restore accepts only the canonical state for the recorded min and max:
// the level, offset and occupied length the grid rules give, non-empty
// end cells and counts that add up to Count.
func (h *Histogram) restore(st State) error {
	if st.Count == 0 {
		if len(st.Counts) != 0 {
			return fmt.Errorf("%w: empty histogram with %d cells", ErrSpec, len(st.Counts))
		}
		return nil
	}
	e := levelFor(st.Min, st.Max, h.spec.Bins)
	off := cellOf(st.Min, e)
	want := cellOf(st.Max, e) - off + 1
	if st.Exp != e || st.Offset != off || int64(len(st.Counts)) != want {
		return fmt.Errorf("%w: histogram grid (exp %d, offset %d, %d cells) is not the canonical (%d, %d, %d) for [%v, %v]",
			ErrSpec, st.Exp, st.Offset, len(st.Counts), e, off, want, st.Min, st.Max)
	}
	var sum uint64
	for _, c := range st.Counts {
		if sum+c < sum {
			return fmt.Errorf("%w: histogram counts overflow", ErrSpec)
		}
		sum += c
	}
	if sum != st.Count || st.Counts[0] == 0 || st.Counts[len(st.Counts)-1] == 0 {
		return fmt.Errorf("%w: histogram counts (sum %d, first %d, last %d) do not match count %d",
			ErrSpec, sum, st.Counts[0], st.Counts[len(st.Counts)-1], st.Count)
	}
	h.regrid(st.Min, st.Max)
	copy(h.cells, st.Counts)
	h.n = st.Count
	return nil
}

// ParseState decodes one observer from its JSON State, rejecting unknown
// fields (a misspelt key in a hand-edited stats.json is an error, not a
// silently empty observer).
func ParseState(b []byte) (Observer, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	var st State
	if err := d.Decode(&st); err != nil {
		return nil, fmt.Errorf("%w: decoding observer state: %v", ErrSpec, err)
	}
	return FromState(st)
}
