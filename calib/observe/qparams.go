package observe

import (
	"fmt"
	"math"
	"math/bits"
)

// The functions below reproduce torchao's
// UniformQuantizationObserverBase._calculate_qparams (see
// executorch-arm-quantizer.md §2.4) in float32 arithmetic:
//
//	min_neg = min(min, 0), max_pos = max(max, 0)      (range always holds 0)
//	symmetric: scale = max(-min_neg, max_pos) / ((qmax-qmin)/2), zp = 0
//	affine:    scale = (max_pos - min_neg) / (qmax-qmin)
//	           zp = clamp(qmin - round_half_even(min_neg/scale), qmin, qmax)
//	both:      scale = max(scale, eps)
//
// The symmetric divisor is (qmax-qmin)/2, not qmax: 127.5 for [-128, 127]
// but 127 for the narrow weight range [-127, 127], and 32767 for the
// a16w8 activations [-32767, 32767].
//
// Differences from PyTorch, on purpose: an observer that saw nothing
// yields ErrNoData together with PyTorch's fallback (1, 0) instead of a
// warning, and invalid input is an error instead of an assertion. For an
// unsigned symmetric grid (qmin >= 0) the zero point is the rounded-down
// midpoint (qmin+qmax)/2, which is what PyTorch does for uint8 when
// quant_min/quant_max are given explicitly (torchao always passes them
// from the QuantizationSpec); PyTorch's implicit-range uint8 (128) and
// uint16 (32768) special cases are not reproduced.

// Symmetric returns the scale and zero point of a symmetric grid
// [qmin, qmax] covering [lo, hi].
func Symmetric(lo, hi float32, qmin, qmax int32, eps float32) (scale float32, zp int32, err error) {
	minNeg, maxPos, err := checkRange(lo, hi, qmin, qmax, eps)
	if err != nil {
		return 1, 0, err
	}
	amax := maxPos
	if -minNeg > amax {
		amax = -minNeg
	}
	scale = amax / float32(float64(int64(qmax)-int64(qmin))/2)
	if scale < eps {
		scale = eps
	}
	if qmin >= 0 {
		zp = int32((int64(qmin) + int64(qmax)) / 2)
	}
	return scale, zp, nil
}

// Affine returns the scale and zero point of an asymmetric grid
// [qmin, qmax] covering [lo, hi].
func Affine(lo, hi float32, qmin, qmax int32, eps float32) (scale float32, zp int32, err error) {
	minNeg, maxPos, err := checkRange(lo, hi, qmin, qmax, eps)
	if err != nil {
		return 1, 0, err
	}
	scale = float32(maxPos-minNeg) / float32(int64(qmax)-int64(qmin))
	if !isFinite32(scale) {
		return 1, 0, fmt.Errorf("range [%v, %v]: scale overflows float32: %w", lo, hi, ErrNonFinite)
	}
	if scale < eps {
		scale = eps
	}
	z := int64(qmin) - int64(math.RoundToEven(float64(minNeg/scale)))
	return scale, int32(min(max(z, int64(qmin)), int64(qmax))), nil
}

// checkRange validates the arguments shared by Symmetric and Affine and
// returns min(min, 0) and max(max, 0).
func checkRange(lo, hi float32, qmin, qmax int32, eps float32) (minNeg, maxPos float32, err error) {
	if !(qmin <= 0 && 0 <= qmax && qmin < qmax) {
		return 0, 0, fmt.Errorf("%w: quantized range [%d, %d] must hold 0 and more than one value", ErrSpec, qmin, qmax)
	}
	if !isFinite32(eps) || eps < 0 {
		return 0, 0, fmt.Errorf("%w: eps %v", ErrSpec, eps)
	}
	if math.IsInf(float64(lo), 1) && math.IsInf(float64(hi), -1) {
		return 0, 0, ErrNoData
	}
	if !isFinite32(lo) || !isFinite32(hi) {
		return 0, 0, fmt.Errorf("range [%v, %v]: %w", lo, hi, ErrNonFinite)
	}
	if lo > hi {
		return 0, 0, fmt.Errorf("%w: range min %v above max %v", ErrSpec, lo, hi)
	}
	return min(lo, 0), max(hi, 0), nil
}

// SymmetricPerChannel applies Symmetric to each channel's range.
func SymmetricPerChannel(mins, maxs []float32, qmin, qmax int32, eps float32) ([]float32, []int32, error) {
	return perChannel(Symmetric, mins, maxs, qmin, qmax, eps)
}

// AffinePerChannel applies Affine to each channel's range.
func AffinePerChannel(mins, maxs []float32, qmin, qmax int32, eps float32) ([]float32, []int32, error) {
	return perChannel(Affine, mins, maxs, qmin, qmax, eps)
}

type qparamsFunc func(lo, hi float32, qmin, qmax int32, eps float32) (float32, int32, error)

func perChannel(f qparamsFunc, mins, maxs []float32, qmin, qmax int32, eps float32) ([]float32, []int32, error) {
	if len(mins) != len(maxs) {
		return nil, nil, fmt.Errorf("%w: %d channel minima, %d maxima", ErrShape, len(mins), len(maxs))
	}
	if len(mins) == 0 {
		return nil, nil, ErrNoData
	}
	scales := make([]float32, len(mins))
	zps := make([]int32, len(mins))
	for c := range mins {
		var err error
		if scales[c], zps[c], err = f(mins[c], maxs[c], qmin, qmax, eps); err != nil {
			return nil, nil, fmt.Errorf("channel %d: %w", c, err)
		}
	}
	return scales, zps, nil
}

// QSpec is the integer grid an observed range is mapped onto, the part of
// a torchao QuantizationSpec that _calculate_qparams reads.
type QSpec struct {
	QMin, QMax int32
	Symmetric  bool
	Eps        float32
}

// Levels is the number of destination bins the histogram search uses for
// this grid: 2^bits of the smallest integer type holding it, which equals
// PyTorch's 2^iinfo(dtype).bits for int8 ([-128,127] and [-127,127]: 256),
// uint8 and int16 ([-32767, 32767]: 65536).
func (q QSpec) Levels() int {
	n := uint64(int64(q.QMax) - int64(q.QMin) + 1)
	return 1 << bits.Len64(n-1)
}

// QParams computes the scale and zero point for a range.
func (q QSpec) QParams(lo, hi float32) (float32, int32, error) {
	if q.Symmetric {
		return Symmetric(lo, hi, q.QMin, q.QMax, q.Eps)
	}
	return Affine(lo, hi, q.QMin, q.QMax, q.Eps)
}

// ForObserver computes qparams from an observer: one per channel for a
// per-channel observer, else one. Histogram observers run their L2 search
// for q.Levels() destination bins, as HistogramObserver.calculate_qparams
// does for the observer's dtype; other observers use Range.
func (q QSpec) ForObserver(o Observer) ([]float32, []int32, error) {
	f := Affine
	if q.Symmetric {
		f = Symmetric
	}
	if pc, ok := o.(PerChannel); ok {
		mins, maxs := pc.ChannelRanges()
		return perChannel(f, mins, maxs, q.QMin, q.QMax, q.Eps)
	}
	if o.Count() == 0 {
		return []float32{1}, []int32{0}, ErrNoData
	}
	lo, hi := o.Range()
	if rs, ok := o.(RangeSearcher); ok && o.Spec().Kind == KindHistogram {
		var err error
		if lo, hi, err = rs.SearchRange(q.Levels()); err != nil {
			return nil, nil, err
		}
	}
	s, z, err := f(lo, hi, q.QMin, q.QMax, q.Eps)
	if err != nil {
		return nil, nil, err
	}
	return []float32{s}, []int32{z}, nil
}
