package observe

import "math"

// GridError is the summed squared error the histogram's values would
// suffer on the integer grid (scale, zp, [qmin, qmax]): rounding inside the
// grid and saturation outside it. Values are taken as spread evenly inside
// each cell. Range choosers compare candidate grids with it on samples the
// candidates were not fitted on, standing in for new data.
//
// The rounding counted is the values' own where a cell is at most two grid
// steps wide and the histogram holds at least one value per grid level;
// otherwise it is its expectation, scale²/12 per value. A cell wider than
// two steps spreads its values over several; and fewer values than levels
// (a per-row statistic such as a layer norm's variance, a score) sit where
// they happen to on one candidate's grid, which new values do not repeat,
// so scoring their own rounding chose between grids by chance
// (docs/accuracy-notes.md, oww_hey_jarvis). The cells of the exact extrema
// and of zero keep their own rounding in every case: values pile up there
// (clamped activations, ReLU zeros) and recur in new data. An empty
// histogram has error 0.
func (h *Histogram) GridError(scale float32, zp, qmin, qmax int32) float64 {
	if h.n == 0 || !(scale > 0) {
		return 0
	}
	cells, left, width := h.occupied()
	s := float64(scale)
	lo := (float64(qmin) - float64(zp)) * s
	hi := (float64(qmax) - float64(zp)) * s
	const probes = 8
	few := h.n < uint64(int64(qmax)-int64(qmin)+1)
	var total float64
	for i, c := range cells {
		if c == 0 {
			continue
		}
		a := left + width*float64(i)
		// The cells of the exact extrema and of zero keep their own
		// rounding: values pile up there (clamped activations, ReLU
		// zeros) and recur in new data.
		own := !few || i == 0 || i == len(cells)-1 || (a <= 0 && 0 < a+width)
		var e float64
		for k := 0; k < probes; k++ {
			x := a + width*(float64(k)+0.5)/probes
			// The exact extrema bound the values of the end cells.
			x = math.Min(math.Max(x, float64(h.min)), float64(h.max))
			switch {
			case x < lo:
				e += (lo - x) * (lo - x)
			case x > hi:
				e += (x - hi) * (x - hi)
			case !own || width > 2*s:
				e += s * s / 12
			default:
				q := math.Round(x/s)*s - x
				e += q * q
			}
		}
		total += float64(c) * e / probes
	}
	return total
}
