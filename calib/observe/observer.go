package observe

import (
	"errors"
	"fmt"
)

// Observer summarises the values of one tensor across calibration batches.
// Implementations have a fixed memory footprint and are not safe for
// concurrent use; use one observer per goroutine and Merge them.
type Observer interface {
	// Spec returns the normalised configuration the observer was built with.
	Spec() Spec
	// Observe folds one batch into the summary. shape may be nil for
	// per-tensor observers; when given, its product must equal len(data).
	// A NaN or ±Inf value yields an error wrapping ErrNonFinite and leaves
	// the observer unchanged.
	Observe(data []float32, shape []int) error
	// Merge folds another observer of the same spec into this one. The
	// result is the state a single run over both observers' data would
	// have reached (see the package doc); other is not modified.
	Merge(other Observer) error
	// Range is the per-tensor range the observer recommends for
	// quantization: exact min/max, moving averages, the L2-searched range
	// or the percentile range. An empty observer returns (+Inf, -Inf).
	Range() (min, max float32)
	// Count is the number of finite values observed (batches for the
	// moving average).
	Count() uint64
	// State is a self-contained, JSON-serialisable snapshot; FromState
	// rebuilds an identical observer from it.
	State() State
}

// PerChannel is implemented by observers that keep one range per channel.
type PerChannel interface {
	// ChannelRanges returns copies of the per-channel minima and maxima
	// (nil before the first observation).
	ChannelRanges() (mins, maxs []float32)
}

// RangeSearcher is implemented by histogram observers whose range depends
// on the number of quantization levels it will be mapped onto.
type RangeSearcher interface {
	// SearchRange runs the L2 range search for a grid of levels levels
	// (PyTorch uses 2^bits of the dtype: 256 for int8, 65536 for int16).
	SearchRange(levels int) (min, max float32, err error)
}

// Kind names an observer algorithm. The strings are stable: they are
// written to stats.json.
type Kind string

// The observer kinds.
const (
	KindMinMax              Kind = "minmax"
	KindMovingAverageMinMax Kind = "moving_average_minmax"
	KindPerChannelMinMax    Kind = "per_channel_minmax"
	KindHistogram           Kind = "histogram"
	KindPercentile          Kind = "percentile"
	// KindMeanMinMax averages the per-batch extremes with equal weights
	// (MeanMinMax).
	KindMeanMinMax Kind = "mean_minmax"
)

// Defaults applied by Spec.Normalize.
const (
	DefaultBins       = 2048 // PyTorch HistogramObserver's default
	DefaultBits       = 8    // histogram search targets int8 (256 levels)
	DefaultAveraging  = 0.01 // PyTorch MovingAverageMinMaxObserver
	DefaultPercentile = 99.99
)

// Typed errors callers can react to with errors.Is.
var (
	// ErrNonFinite reports a NaN or ±Inf value in observed data.
	ErrNonFinite = errors.New("non-finite value")
	// ErrNotMergeable reports a merge between observers whose kinds or
	// configurations differ, or a merge the algorithm cannot do exactly.
	ErrNotMergeable = errors.New("observers cannot be merged")
	// ErrNoData reports an observer that never saw a value.
	ErrNoData = errors.New("observer saw no data")
	// ErrShape reports data whose shape does not fit the observer.
	ErrShape = errors.New("shape mismatch")
	// ErrSpec reports an invalid observer configuration or state.
	ErrSpec = errors.New("invalid observer spec")
)

// NonFiniteError says where the first NaN/Inf of a batch was. It matches
// ErrNonFinite under errors.Is.
type NonFiniteError struct {
	Index int     // flat index in the batch
	Value float32 // the offending value
}

func (e *NonFiniteError) Error() string {
	return fmt.Sprintf("value %v at flat index %d: %v", e.Value, e.Index, ErrNonFinite)
}

// Is makes errors.Is(err, ErrNonFinite) true.
func (e *NonFiniteError) Is(target error) bool { return target == ErrNonFinite }

// Spec configures an observer. Only the fields of its Kind matter;
// Normalize fills defaults and clears the others so that two specs that
// build the same observer compare equal (Merge relies on that).
type Spec struct {
	Kind Kind `json:"kind"`
	// Bins is the number of histogram cells (histogram, percentile).
	Bins int `json:"bins,omitempty"`
	// Bits sets the histogram search target to 2^Bits levels for Range
	// (histogram only; QParamsFor derives it from qmin/qmax instead).
	Bits int `json:"bits,omitempty"`
	// Percentile is the central mass kept, in percent (percentile only):
	// each tail loses (100-Percentile)/2 percent.
	Percentile float64 `json:"percentile,omitempty"`
	// Axis is the channel axis (per-channel only); negative counts from
	// the end as in PyTorch.
	Axis int `json:"axis,omitempty"`
	// Averaging is the moving-average constant c in m += c*(x-m).
	Averaging float64 `json:"averaging,omitempty"`
}

// Normalize validates s, fills defaults and zeroes irrelevant fields.
func (s Spec) Normalize() (Spec, error) {
	n := Spec{Kind: s.Kind}
	switch s.Kind {
	case KindMinMax:
	case KindMovingAverageMinMax:
		n.Averaging = s.Averaging
		if n.Averaging == 0 {
			n.Averaging = DefaultAveraging
		}
		if !(n.Averaging > 0 && n.Averaging <= 1) {
			return Spec{}, fmt.Errorf("%w: averaging constant %v not in (0, 1]", ErrSpec, s.Averaging)
		}
	case KindPerChannelMinMax:
		n.Axis = s.Axis
	case KindMeanMinMax:
	case KindHistogram, KindPercentile:
		n.Bins = s.Bins
		if n.Bins == 0 {
			n.Bins = DefaultBins
		}
		if n.Bins < 2 || n.Bins > 1<<24 {
			return Spec{}, fmt.Errorf("%w: %d bins not in [2, 2^24]", ErrSpec, s.Bins)
		}
		if s.Kind == KindHistogram {
			n.Bits = s.Bits
			if n.Bits == 0 {
				n.Bits = DefaultBits
			}
			if n.Bits < 1 || n.Bits > 24 {
				return Spec{}, fmt.Errorf("%w: %d bits not in [1, 24]", ErrSpec, s.Bits)
			}
		} else {
			n.Percentile = s.Percentile
			if n.Percentile == 0 {
				n.Percentile = DefaultPercentile
			}
			if !(n.Percentile > 0 && n.Percentile <= 100) {
				return Spec{}, fmt.Errorf("%w: percentile %v not in (0, 100]", ErrSpec, s.Percentile)
			}
		}
	default:
		return Spec{}, fmt.Errorf("%w: unknown kind %q", ErrSpec, s.Kind)
	}
	return n, nil
}

// New builds an empty observer for s.
func (s Spec) New() (Observer, error) {
	n, err := s.Normalize()
	if err != nil {
		return nil, err
	}
	switch n.Kind {
	case KindMinMax:
		return newMinMax(n), nil
	case KindMovingAverageMinMax:
		return newMovingAverage(n), nil
	case KindPerChannelMinMax:
		return newPerChannel(n), nil
	case KindMeanMinMax:
		return newMeanMinMax(n), nil
	default: // histogram, percentile
		return newHistogram(n), nil
	}
}

// New is shorthand for Spec{Kind: kind}.New() with default options.
func New(kind Kind) (Observer, error) { return Spec{Kind: kind}.New() }

// mergeCheck verifies that other has the same spec as mine and returns it
// converted to T.
func mergeCheck[T Observer](mine Spec, other Observer) (T, error) {
	var zero T
	if other == nil {
		return zero, fmt.Errorf("%w: nil observer", ErrNotMergeable)
	}
	o, ok := other.(T)
	if !ok || other.Spec() != mine {
		return zero, fmt.Errorf("%w: %+v into %+v", ErrNotMergeable, other.Spec(), mine)
	}
	return o, nil
}
