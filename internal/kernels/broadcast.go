package kernels

// BroadcastShape returns the numpy-style ("multidirectional") broadcast of shapes.
func BroadcastShape(op string, shapes ...[]int) ([]int, error) {
	rank := 0
	for _, s := range shapes {
		rank = max(rank, len(s))
	}
	out := make([]int, rank)
	for i := range out {
		out[i] = 1
	}
	for _, s := range shapes {
		off := rank - len(s)
		for i, d := range s {
			o := out[off+i]
			switch {
			case d == o || d == 1:
			case o == 1:
				out[off+i] = d
			default:
				return nil, shapeErr(op, "shapes %v are not broadcastable (dim %d: %d vs %d)", shapes, off+i-rank, o, d)
			}
		}
	}
	return out, nil
}

// bcastStrides gives in's element strides aligned to out, with 0 on broadcast dims.
func bcastStrides(in, out []int) []int {
	st := make([]int, len(out))
	off := len(out) - len(in)
	acc := 1
	for i := len(in) - 1; i >= 0; i-- {
		if in[i] != 1 {
			st[off+i] = acc
		}
		acc *= in[i]
	}
	return st
}

// bcastRuns walks the output of a broadcasting op as runs of contiguous output
// elements. For each run it calls fn(o, offs, n, steps): out[o:o+n] pairs with
// input k at offs[k], offs[k]+steps[k], ... Dimensions that every input walks in
// the same way are merged first, so the common cases (same shape, scalar, per-channel)
// give long runs and the callback cost is paid per run, not per element.
func bcastRuns(out []int, ins [][]int, fn func(o int, offs []int, n int, steps []int)) {
	k := len(ins)
	st := make([][]int, k)
	for j, s := range ins {
		st[j] = bcastStrides(s, out)
	}
	// Merge dims from the inside out.
	var dims []int
	var dst [][]int // dst[j] strides per merged dim, innermost first
	dst = make([][]int, k)
	for i := len(out) - 1; i >= 0; i-- {
		if out[i] == 1 {
			continue
		}
		if len(dims) > 0 {
			last := len(dims) - 1
			ok := true
			for j := 0; j < k; j++ {
				if st[j][i] != dst[j][last]*dims[last] {
					ok = false
					break
				}
			}
			if ok {
				dims[last] *= out[i]
				continue
			}
		}
		dims = append(dims, out[i])
		for j := 0; j < k; j++ {
			dst[j] = append(dst[j], st[j][i])
		}
	}
	offs := make([]int, k)
	steps := make([]int, k)
	if len(dims) == 0 {
		fn(0, offs, 1, steps)
		return
	}
	n := dims[0]
	for j := 0; j < k; j++ {
		steps[j] = dst[j][0]
	}
	outer := dims[1:]
	total := prod(outer)
	ctr := make([]int, len(outer))
	base := make([]int, k)
	for r := 0; r < total; r++ {
		copy(offs, base)
		fn(r*n, offs, n, steps)
		// Advance the counter (outer[0] is the innermost of the outer dims).
		for d := 0; d < len(outer); d++ {
			ctr[d]++
			for j := 0; j < k; j++ {
				base[j] += dst[j][d+1]
			}
			if ctr[d] < outer[d] {
				break
			}
			for j := 0; j < k; j++ {
				base[j] -= dst[j][d+1] * outer[d]
			}
			ctr[d] = 0
		}
	}
}

// bcastIndex returns, for every element of out, the index of the matching element
// of an input of shape in (unidirectional broadcasting of in to out).
func bcastIndex(in, out []int) []int {
	idx := make([]int, prod(out))
	bcastRuns(out, [][]int{in}, func(o int, offs []int, n int, steps []int) {
		p, s := offs[0], steps[0]
		for i := 0; i < n; i++ {
			idx[o+i] = p
			p += s
		}
	})
	return idx
}

// canBroadcastTo reports whether in broadcasts unidirectionally to out.
func canBroadcastTo(in, out []int) bool {
	if len(in) > len(out) {
		return false
	}
	off := len(out) - len(in)
	for i, d := range in {
		if d != 1 && d != out[off+i] {
			return false
		}
	}
	return true
}
