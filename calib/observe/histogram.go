package observe

import (
	"fmt"
	"math"
	"slices"
)

// Histogram counts values on the power-of-two grid described in the
// package doc, with Spec.Bins cells, and derives a range from it: for
// KindHistogram the L2 range search of PyTorch's HistogramObserver, for
// KindPercentile a two-sided percentile. It also keeps the exact min/max.
type Histogram struct {
	spec     Spec
	n        uint64
	min, max float32
	exp      int      // cell width is 2^exp
	lo       int64    // absolute cell index of cells[0] == cellOf(min, exp)
	cells    []uint64 // len spec.Bins once non-empty
	scratch  []uint64 // re-binning buffer, same length
	lanes    []uint32 // bin's per-lane counts, 4*spec.Bins once used
}

func newHistogram(s Spec) *Histogram {
	return &Histogram{spec: s, min: float32(math.Inf(1)), max: float32(math.Inf(-1))}
}

// Spec implements Observer.
func (h *Histogram) Spec() Spec { return h.spec }

// Count implements Observer.
func (h *Histogram) Count() uint64 { return h.n }

// MinMax returns the exact extrema seen, (+Inf, -Inf) if empty.
func (h *Histogram) MinMax() (float32, float32) { return h.min, h.max }

// Range implements Observer. For KindHistogram it is SearchRange with
// 2^Spec.Bits levels; for KindPercentile the percentile range. An empty
// observer returns (+Inf, -Inf).
func (h *Histogram) Range() (float32, float32) {
	if h.n == 0 {
		return h.min, h.max
	}
	if h.spec.Kind == KindPercentile {
		return h.PercentileRange(h.spec.Percentile)
	}
	lo, hi, _ := h.SearchRange(1 << h.spec.Bits)
	return lo, hi
}

// Observe implements Observer.
func (h *Histogram) Observe(data []float32, shape []int) error {
	lo, hi, ok, err := batchRange(data, shape)
	if !ok {
		return err
	}
	if h.n > 0 {
		lo, hi = min32(lo, h.min), max32(hi, h.max)
	}
	h.regrid(lo, hi)
	h.bin(data)
	h.n += uint64(len(data))
	return nil
}

// laneMin is the batch size from which bin spreads the counting over
// several count arrays; below it, clearing and folding them costs more
// than it saves.
const laneMin = 8192

// bin adds data (inside the current grid) to the cells: cell
// floor(x * 2^-exp) - lo, where the product is exact (see cellOf).
//
// Activations repeat values: a ReLU output is half zeros, a ReLU6 output
// piles up at 6, and counting those one by one into one array makes each
// increment wait for the previous store to the same cell. For large
// batches the indices are computed eight at a time (binPack), and the two
// cells expected to be hot (the one holding 0, else the first, and the
// one holding max) are only tallied there, once per chunk; the remaining
// indices go to four interleaved count arrays, which breaks the chains of
// the cells that are merely frequent. They are folded into the cells at
// the end, so the counts are the same integers.
func (h *Histogram) bin(data []float32) {
	scale := math.Ldexp(1, -h.exp)
	off := h.lo
	if len(data) < laneMin || len(data) >= math.MaxUint32 {
		for _, x := range data {
			h.cells[int64(math.Floor(float64(x)*scale))-off]++
		}
		return
	}
	bins := len(h.cells)
	if len(h.lanes) != 4*bins {
		h.lanes = make([]uint32, 4*bins)
	} else {
		clear(h.lanes)
	}
	c0, c1, c2, c3 := h.lanes[:bins], h.lanes[bins:2*bins], h.lanes[2*bins:3*bins], h.lanes[3*bins:]
	i := 0
	// binPack needs every cell index of the grid inside the int32 range.
	if off > -1<<30 && off+int64(bins) < 1<<30 {
		hot0, hot1 := h.hotCells()
		single := h.singleExact()
		// Chunks of 2048 measured faster than 512 (fewer calls and
		// loop restarts); larger ones gain nothing more.
		var idx [2048]int32
		var hits0, hits1 int
		for i+8 <= len(data) {
			n, kept, a, b := binPack(data[i:], scale, single, int32(off), hot0, hot1, idx[:])
			if n == 0 {
				break
			}
			hits0 += a
			hits1 += b
			k := 0
			for ; k+4 <= kept; k += 4 {
				t := idx[k : k+4 : k+4]
				c0[t[0]]++
				c1[t[1]]++
				c2[t[2]]++
				c3[t[3]]++
			}
			for _, t := range idx[k:kept] {
				c0[t]++
			}
			i += n
		}
		h.cells[hot0] += uint64(hits0)
		if hot1 >= 0 {
			h.cells[hot1] += uint64(hits1)
		}
	}
	for ; i+4 <= len(data); i += 4 {
		d := data[i : i+4 : i+4]
		c0[int64(math.Floor(float64(d[0])*scale))-off]++
		c1[int64(math.Floor(float64(d[1])*scale))-off]++
		c2[int64(math.Floor(float64(d[2])*scale))-off]++
		c3[int64(math.Floor(float64(d[3])*scale))-off]++
	}
	for ; i < len(data); i++ {
		c0[int64(math.Floor(float64(data[i])*scale))-off]++
	}
	for j := range h.cells {
		h.cells[j] += uint64(c0[j]) + uint64(c1[j]) + uint64(c2[j]) + uint64(c3[j])
	}
}

// singleExact reports whether x * 2^-exp is exact in float32 for every x
// in [min, max], so that bin may multiply in float32. The power of two must
// be a normal float32 (-127 <= exp <= 126). The product of a float32 by a
// normal power of two is exact unless it underflows, which needs exp > 0;
// there a positive x whose product rounds to a subnormal or to +0 still has
// floor 0, but a negative one rounded to -0 would get floor 0 instead of
// -1, so negative data then needs float64. The cell indices are within
// int32, far from float32 overflow.
func (h *Histogram) singleExact() bool {
	return h.exp >= -127 && h.exp <= 126 && (h.exp <= 0 || !(h.min < 0))
}

// hotCells picks the two cells bin tallies without scattering: the one
// holding 0 (ReLU zeros of either sign), or the first cell when 0 is off
// the grid, and the one holding max (a ReLU6 or clip ceiling). The second
// is -1, which no index equals, when both are the same cell. Any choice
// gives the same counts; these are the ones worth it for activations.
func (h *Histogram) hotCells() (hot0, hot1 int32) {
	if z := -h.lo; z >= 0 && z < int64(len(h.cells)) {
		hot0 = int32(z)
	}
	hot1 = int32(cellOf(h.max, h.exp) - h.lo)
	if hot1 == hot0 {
		hot1 = -1
	}
	return hot0, hot1
}

// Merge implements Observer. Both sides are moved to the canonical level
// of the union and their integer counts added: exact and order free.
func (h *Histogram) Merge(other Observer) error {
	o, err := mergeCheck[*Histogram](h.spec, other)
	if err != nil {
		return err
	}
	if o.n == 0 {
		return nil
	}
	lo, hi := o.min, o.max
	if h.n > 0 {
		lo, hi = min32(lo, h.min), max32(hi, h.max)
	}
	h.regrid(lo, hi)
	addCells(h.cells, h.exp, h.lo, o.cells, o.exp, o.lo)
	h.n += o.n
	return nil
}

// regrid makes [lo, hi] (a superset of the current range) the range of
// the histogram, moving the counts to its canonical level and offset.
func (h *Histogram) regrid(lo, hi float32) {
	if h.cells == nil {
		h.cells = make([]uint64, h.spec.Bins)
		h.scratch = make([]uint64, h.spec.Bins)
	}
	e := levelFor(lo, hi, h.spec.Bins)
	off := cellOf(lo, e)
	if h.n > 0 && (e != h.exp || off != h.lo) {
		clear(h.scratch)
		addCells(h.scratch, e, off, h.cells, h.exp, h.lo)
		h.cells, h.scratch = h.scratch, h.cells
	}
	h.min, h.max, h.exp, h.lo = lo, hi, e, off
}

// addCells adds the counts src (level srcExp, first cell srcLo) into dst
// (level dstExp >= srcExp, first cell dstLo). Cell k of the finer grid
// lies inside cell k>>d of the coarser one (>> floors negative k too), so
// no count is split.
func addCells(dst []uint64, dstExp int, dstLo int64, src []uint64, srcExp int, srcLo int64) {
	d := uint(dstExp - srcExp)
	for i, c := range src {
		if c != 0 {
			dst[(srcLo+int64(i))>>d-dstLo] += c
		}
	}
}

// occupied returns the cells from the one holding min to the one holding
// max, the left edge of the first and the cell width.
func (h *Histogram) occupied() (cells []uint64, left, width float64) {
	last := cellOf(h.max, h.exp) - h.lo
	width = math.Ldexp(1, h.exp)
	return h.cells[:last+1], float64(h.lo) * width, width
}

// State implements Observer. Counts covers the occupied cells only.
func (h *Histogram) State() State {
	st := State{Version: StateVersion, Spec: h.spec, Count: h.n}
	if h.n > 0 {
		cells, _, _ := h.occupied()
		st.Min, st.Max, st.Exp, st.Offset = h.min, h.max, h.exp, h.lo
		st.Counts = slices.Clone(cells)
	}
	return st
}

// SearchRange implements RangeSearcher: PyTorch HistogramObserver's
// greedy L2 search (see searchL2) over the occupied cells, mapped back to
// values and clamped to the exact [min, max] (cell edges lie outside it).
func (h *Histogram) SearchRange(levels int) (float32, float32, error) {
	if h.n == 0 {
		return h.min, h.max, ErrNoData
	}
	if levels < 2 {
		return h.min, h.max, fmt.Errorf("%w: %d quantization levels", ErrSpec, levels)
	}
	cells, left, width := h.occupied()
	start, end := searchL2(cells, levels)
	lo, hi := h.clamp(left+width*float64(start), left+width*float64(end+1))
	return lo, hi, nil
}

// clamp limits lo and hi to the exact observed range and rounds to
// float32 (which cannot leave the range: min and max are float32).
func (h *Histogram) clamp(lo, hi float64) (float32, float32) {
	lo = math.Min(math.Max(lo, float64(h.min)), float64(h.max))
	hi = math.Min(math.Max(hi, float64(h.min)), float64(h.max))
	return float32(lo), float32(hi)
}
