package observe

import "math"

// PercentileRange returns the values below which (100-p)/2 percent and
// 100-(100-p)/2 percent of the observed values lie, interpolating linearly
// inside a cell, clamped to the exact [min, max].
func (h *Histogram) PercentileRange(p float64) (float32, float32) {
	if h.n == 0 {
		return h.min, h.max
	}
	cells, left, width := h.occupied()
	total := float64(h.n)
	tail := (100 - p) / 200 * total
	return h.clamp(quantile(cells, left, width, tail), quantile(cells, left, width, total-tail))
}

// quantile returns the position below which q of the counted values lie,
// assuming values are spread evenly inside each cell.
func quantile(cells []uint64, left, width, q float64) float64 {
	var before float64
	for i, c := range cells {
		cf := float64(c)
		if c > 0 && before+cf >= q {
			frac := math.Min(math.Max((q-before)/cf, 0), 1)
			return left + width*(float64(i)+frac)
		}
		before += cf
	}
	return left + width*float64(len(cells))
}
