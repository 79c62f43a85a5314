package observe

import "math"

// GridError is the summed squared error the histogram's values would
// suffer on the integer grid (scale, zp, [qmin, qmax]): rounding inside the
// grid and saturation outside it. Values are taken as spread evenly inside
// each cell; a cell wider than two grid steps contributes the uniform
// rounding error scale²/12 per value for the part of it inside the grid.
// Range choosers compare candidate grids with it on samples the candidates
// were not fitted on. An empty histogram has error 0.
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
			case width > 2*s:
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
