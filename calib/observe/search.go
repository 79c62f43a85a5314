package observe

import "math"

// searchL2 is PyTorch HistogramObserver._non_linear_param_search (itself
// caffe2's NormMinimization::NonlinearQuantizationParamsSearch), rewritten
// over integer counts: it returns the first and last source bin of the
// range to quantize.
//
// Starting from the full histogram it repeatedly drops mass from one end:
// each step raises the lower quantile bound alpha or lowers the upper
// bound beta by 1e-5 (whichever end would move more bins is moved), and
// the candidate range is accepted while its L2 quantization error
// (l2Error) does not increase. The first increase stops the search, so it
// is a greedy descent, not a global minimum; it is what PyTorch and hence
// ExecuTorch's Arm quantizer compute. Two quirks are kept on purpose: the
// first candidate is always accepted (it is compared with +Inf, not with
// the full range's error), and a step sheds at least 1e-5 of the mass, so
// it drops the whole end bin. On 2048 bins that trims at most 1/2048 of
// the range unless an empty gap is jumped.
func searchL2(counts []uint64, levels int) (start, end int) {
	n := len(counts)
	cum := make([]float64, n)
	var total float64
	for i, c := range counts {
		total += float64(c)
		cum[i] = total
	}
	const step = 1e-5
	alpha, beta := 0.0, 1.0
	start, end = 0, n-1
	best := math.Inf(1)
	for alpha < beta {
		nextAlpha, nextBeta := alpha+step, beta-step
		l, r := start, end
		for l < end && cum[l] < nextAlpha*total {
			l++
		}
		for r > start && cum[r] > nextBeta*total {
			r--
		}
		nextStart, nextEnd := start, end
		if l-start > end-r {
			nextStart, alpha = l, nextAlpha
		} else {
			nextEnd, beta = r, nextBeta
		}
		if nextStart == start && nextEnd == end {
			continue
		}
		norm := l2Error(counts, nextStart, nextEnd, levels)
		if norm > best {
			break
		}
		best, start, end = norm, nextStart, nextEnd
	}
	return start, end
}

// l2Error is the squared error of quantizing the histogram when source
// bins start..end are mapped onto levels equal destination bins, every
// value going to the centre of its destination bin and values outside
// the range to the centre of the first or last one. Each source bin is
// taken as a uniform density (count per unit width); source bins have
// unit width, which scales every candidate's error by the same factor.
// This is the quantity of PyTorch's _compute_quantization_error.
func l2Error(counts []uint64, start, end, levels int) float64 {
	dw := float64(end-start+1) / float64(levels) // destination bin width
	half := dw / 2
	last := float64(levels - 1)
	var sum float64
	for i, c := range counts {
		if c == 0 {
			continue
		}
		a := float64(i - start) // source bin [a, a+1) relative to the range start
		b := a + 1
		ia := math.Min(math.Max(math.Floor(a/dw), 0), last)
		ib := math.Min(math.Max(math.Floor(b/dw), 0), last)
		ca := (ia + 0.5) * dw
		// ∫ (x - centre)^2 dx over the source bin, split at destination
		// bin edges; the constant 1/3 is applied once below.
		var e float64
		if ia == ib {
			e = cube(b-ca) - cube(a-ca)
		} else {
			cb := (ib + 0.5) * dw
			e = cube(half) - cube(a-ca) + // tail of the first destination bin
				(ib-ia-1)*2*cube(half) + // whole destination bins in between
				cube(b-cb) + cube(half) // head of the last one
		}
		sum += float64(c) * e
	}
	return sum / 3
}

func cube(x float64) float64 { return x * x * x }
