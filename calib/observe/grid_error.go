package observe

import "math"

// GridError is the summed squared error the histogram's values would
// suffer on the integer grid (scale, zp, [qmin, qmax]): saturation outside
// it, measured from the values, and rounding inside it, counted at its
// expectation scale²/12 per value. Range choosers compare candidate grids
// with it on samples the candidates were not fitted on, standing in for new
// data: new values fall anywhere between two grid points, so the rounding
// the few held-out values happen to get on one grid (a handful of samples
// of a small tensor can sit on or between its points) says nothing about
// the next samples, and scoring it made the choice between grids a matter
// of chance (docs/accuracy-notes.md, oww_hey_jarvis). An empty histogram
// has error 0.
func (h *Histogram) GridError(scale float32, zp, qmin, qmax int32) float64 {
	if h.n == 0 || !(scale > 0) {
		return 0
	}
	cells, left, width := h.occupied()
	s := float64(scale)
	lo := (float64(qmin) - float64(zp)) * s
	hi := (float64(qmax) - float64(zp)) * s
	const probes = 8
	var total float64
	for i, c := range cells {
		if c == 0 {
			continue
		}
		a := left + width*float64(i)
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
			default:
				e += s * s / 12
			}
		}
		total += float64(c) * e / probes
	}
	return total
}
