package kernels

import (
	"gorgonia.org/tensor"
)

// gatherTo builds a tensor of shape sh with out[i] = x[idx[i]].
func gatherTo(op string, x *tensor.Dense, sh []int, idx []int) (*tensor.Dense, error) {
	out, err := take(op, Flat(x), idx)
	if err != nil {
		return nil, err
	}
	return New(sh, out)
}

// forEachIndex calls fn for every multi-index of shape in row-major order.
func forEachIndex(shape []int, fn func(i int, ix []int)) {
	n := prod(shape)
	ix := make([]int, len(shape))
	for i := 0; i < n; i++ {
		fn(i, ix)
		for d := len(shape) - 1; d >= 0; d-- {
			ix[d]++
			if ix[d] < shape[d] {
				break
			}
			ix[d] = 0
		}
	}
}

// Transpose permutes axes (perm nil reverses them).
func Transpose(x *tensor.Dense, perm []int) (*tensor.Dense, error) {
	const op = "Transpose"
	if x == nil {
		return nil, shapeErr(op, "missing input")
	}
	in := Dims(x)
	r := len(in)
	if perm == nil {
		perm = make([]int, r)
		for i := range perm {
			perm[i] = r - 1 - i
		}
	}
	if len(perm) != r {
		return nil, shapeErr(op, "perm %v does not match rank %d", perm, r)
	}
	seen := make([]bool, r)
	out := make([]int, r)
	ist := strides(in)
	st := make([]int, r)
	for i, p := range perm {
		if p < 0 || p >= r || seen[p] {
			return nil, shapeErr(op, "perm %v is not a permutation", perm)
		}
		seen[p] = true
		out[i], st[i] = in[p], ist[p]
	}
	idx := make([]int, prod(out))
	// Walk the output in runs along its last axis.
	if r == 0 {
		return gatherTo(op, x, out, idx)
	}
	last := out[r-1]
	outer := out[:r-1]
	forEachIndex(outer, func(i int, ix []int) {
		base := 0
		for d, v := range ix {
			base += v * st[d]
		}
		s := st[r-1]
		row := idx[i*last : (i+1)*last]
		for j := range row {
			row[j] = base + j*s
		}
	})
	return gatherTo(op, x, out, idx)
}

// Concat joins inputs of one dtype along axis; other dims must match.
func Concat(xs []*tensor.Dense, axis int) (*tensor.Dense, error) { return ConcatWith(nil, xs, axis) }

// ConcatWith is Concat writing a float32 result into a buffer from alloc.
func ConcatWith(alloc Alloc, xs []*tensor.Dense, axis int) (*tensor.Dense, error) {
	const op = "Concat"
	if len(xs) == 0 || xs[0] == nil {
		return nil, shapeErr(op, "needs inputs")
	}
	first := Dims(xs[0])
	axis, err := normAxis(op, axis, len(first))
	if err != nil {
		return nil, err
	}
	out := append([]int(nil), first...)
	out[axis] = 0
	for _, x := range xs {
		if x == nil {
			return nil, shapeErr(op, "missing input")
		}
		if x.Dtype() != xs[0].Dtype() {
			return nil, dtypeErr(op, Flat(x))
		}
		s := Dims(x)
		if len(s) != len(first) {
			return nil, shapeErr(op, "input shapes %v and %v differ in rank", first, s)
		}
		for d := range s {
			if d != axis && s[d] != first[d] {
				return nil, shapeErr(op, "input shapes %v and %v differ outside axis %d", first, s, axis)
			}
		}
		out[axis] += s[axis]
	}
	outer, inner := prod(first[:axis]), prod(first[axis+1:])
	var dst any
	if _, isF32 := Flat(xs[0]).([]float32); isF32 && alloc != nil {
		dst = alloc(prod(out))
	} else {
		dst = makeLike(Flat(xs[0]), prod(out))
	}
	row := out[axis] * inner
	off := 0
	for _, x := range xs {
		src := Flat(x)
		blk := Dims(x)[axis] * inner
		for o := 0; o < outer; o++ {
			copyAt(dst, o*row+off, src, o*blk, blk)
		}
		off += blk
	}
	return New(out, dst)
}

// Split cuts x along axis into pieces of the given sizes, or into numOutputs
// near-equal pieces when sizes is nil (the last one smaller, as in opset 18).
func Split(x *tensor.Dense, axis int, sizes []int, numOutputs int) ([]*tensor.Dense, error) {
	const op = "Split"
	if x == nil {
		return nil, shapeErr(op, "missing input")
	}
	in := Dims(x)
	axis, err := normAxis(op, axis, len(in))
	if err != nil {
		return nil, err
	}
	dim := in[axis]
	if sizes == nil {
		if numOutputs < 1 {
			return nil, shapeErr(op, "needs split sizes or a number of outputs")
		}
		chunk := (dim + numOutputs - 1) / numOutputs
		for left := dim; len(sizes) < numOutputs; left -= chunk {
			sizes = append(sizes, min(chunk, left))
		}
	}
	total := 0
	for _, s := range sizes {
		if s < 0 {
			return nil, shapeErr(op, "negative split size in %v", sizes)
		}
		total += s
	}
	if total != dim {
		return nil, shapeErr(op, "split sizes %v do not add up to dim %d of %v", sizes, dim, in)
	}
	outer, inner := prod(in[:axis]), prod(in[axis+1:])
	src := Flat(x)
	res := make([]*tensor.Dense, len(sizes))
	off := 0
	for i, s := range sizes {
		sh := append([]int(nil), in...)
		sh[axis] = s
		dst := makeLike(src, prod(sh))
		blk := s * inner
		for o := 0; o < outer; o++ {
			copyAt(dst, o*blk, src, o*dim*inner+off, blk)
		}
		off += blk
		if res[i], err = New(sh, dst); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// Slice is ONNX Slice (opset 10+): starts/ends are clamped per ONNX rules,
// negative values count from the end, steps may be negative. axes nil means
// 0..len(starts)-1; steps nil means 1.
func Slice(x *tensor.Dense, starts, ends, axes, steps []int) (*tensor.Dense, error) {
	const op = "Slice"
	if x == nil {
		return nil, shapeErr(op, "missing input")
	}
	in := Dims(x)
	r := len(in)
	if len(ends) != len(starts) || (axes != nil && len(axes) != len(starts)) || (steps != nil && len(steps) != len(starts)) {
		return nil, shapeErr(op, "starts %v, ends %v, axes %v and steps %v differ in length", starts, ends, axes, steps)
	}
	st := make([]int, r)
	step := make([]int, r)
	out := append([]int(nil), in...)
	for i := range step {
		step[i] = 1
	}
	seen := make([]bool, r)
	for i := range starts {
		a := i
		if axes != nil {
			a = axes[i]
		}
		a, err := normAxis(op, a, r)
		if err != nil {
			return nil, err
		}
		if seen[a] {
			return nil, shapeErr(op, "axis %d repeated", a)
		}
		seen[a] = true
		s := 1
		if steps != nil {
			s = steps[i]
		}
		if s == 0 {
			return nil, shapeErr(op, "step is zero")
		}
		d := in[a]
		b, e := starts[i], ends[i]
		if b < 0 {
			b += d
		}
		if e < 0 {
			e += d
		}
		var n int
		if s > 0 {
			b, e = min(max(b, 0), d), min(max(e, 0), d)
			n = max(0, (e-b+s-1)/s)
		} else {
			b, e = min(max(b, 0), d-1), min(max(e, -1), d-1)
			n = max(0, (b-e+(-s)-1)/(-s))
		}
		st[a], step[a], out[a] = b, s, n
	}
	if prod(out) == 0 {
		return Empty(out, x.Dtype()), nil
	}
	ist := strides(in)
	idx := make([]int, prod(out))
	forEachIndex(out, func(i int, ix []int) {
		p := 0
		for d, v := range ix {
			p += (st[d] + v*step[d]) * ist[d]
		}
		idx[i] = p
	})
	return gatherTo(op, x, out, idx)
}

// Gather is ONNX Gather: picks slices of x along axis at integer indices
// (negative indices count from the end); output shape is
// x.shape[:axis] + indices.shape + x.shape[axis+1:].
func Gather(x, indices *tensor.Dense, axis int) (*tensor.Dense, error) {
	const op = "Gather"
	if x == nil || indices == nil {
		return nil, shapeErr(op, "missing input")
	}
	in := Dims(x)
	axis, err := normAxis(op, axis, len(in))
	if err != nil {
		return nil, err
	}
	ind, err := Ints(indices)
	if err != nil {
		return nil, shapeErr(op, "indices: %v", err)
	}
	d := in[axis]
	for i, v := range ind {
		if v < -d || v >= d {
			return nil, shapeErr(op, "index %d out of range [%d, %d)", v, -d, d)
		}
		if v < 0 {
			ind[i] = v + d
		}
	}
	outer, inner := prod(in[:axis]), prod(in[axis+1:])
	out := append(append(append([]int(nil), in[:axis]...), Dims(indices)...), in[axis+1:]...)
	idx := make([]int, 0, prod(out))
	for o := 0; o < outer; o++ {
		for _, v := range ind {
			base := (o*d + v) * inner
			for j := 0; j < inner; j++ {
				idx = append(idx, base+j)
			}
		}
	}
	return gatherTo(op, x, out, idx)
}

// GatherElements is ONNX GatherElements: out[i][j][k] = x[index][j][k] along axis
// (for axis 0), indices having x's rank.
func GatherElements(x, indices *tensor.Dense, axis int) (*tensor.Dense, error) {
	const op = "GatherElements"
	if x == nil || indices == nil {
		return nil, shapeErr(op, "missing input")
	}
	in, ish := Dims(x), Dims(indices)
	if len(in) != len(ish) {
		return nil, shapeErr(op, "indices %v must have the rank of data %v", ish, in)
	}
	axis, err := normAxis(op, axis, len(in))
	if err != nil {
		return nil, err
	}
	ind, err := Ints(indices)
	if err != nil {
		return nil, shapeErr(op, "indices: %v", err)
	}
	ist := strides(in)
	idx := make([]int, len(ind))
	var bad error
	forEachIndex(ish, func(i int, ix []int) {
		p := 0
		for d, v := range ix {
			if d == axis {
				v = ind[i]
				if v < 0 {
					v += in[d]
				}
				if v < 0 || v >= in[d] {
					bad = shapeErr(op, "index %d out of range for dim %d", ind[i], in[d])
					v = 0
				}
			} else if v >= in[d] {
				bad = shapeErr(op, "indices %v exceed data %v", ish, in)
				v = 0
			}
			p += v * ist[d]
		}
		idx[i] = p
	})
	if bad != nil {
		return nil, bad
	}
	return gatherTo(op, x, ish, idx)
}

// Expand broadcasts x to the broadcast of its shape and shape.
func Expand(x *tensor.Dense, shape []int) (*tensor.Dense, error) {
	const op = "Expand"
	if x == nil {
		return nil, shapeErr(op, "missing input")
	}
	in := Dims(x)
	out, err := BroadcastShape(op, in, shape)
	if err != nil {
		return nil, err
	}
	return gatherTo(op, x, out, bcastIndex(in, out))
}

// Tile repeats x repeats[i] times along each axis.
func Tile(x *tensor.Dense, repeats []int) (*tensor.Dense, error) {
	const op = "Tile"
	if x == nil {
		return nil, shapeErr(op, "missing input")
	}
	in := Dims(x)
	if len(repeats) != len(in) {
		return nil, shapeErr(op, "repeats %v do not match rank %d", repeats, len(in))
	}
	out := make([]int, len(in))
	for i, r := range repeats {
		if r < 0 {
			return nil, shapeErr(op, "negative repeat in %v", repeats)
		}
		out[i] = in[i] * r
	}
	if prod(out) == 0 {
		return Empty(out, x.Dtype()), nil
	}
	ist := strides(in)
	idx := make([]int, prod(out))
	forEachIndex(out, func(i int, ix []int) {
		p := 0
		for d, v := range ix {
			p += (v % in[d]) * ist[d]
		}
		idx[i] = p
	})
	return gatherTo(op, x, out, idx)
}

// DepthToSpace rearranges [N, C, H, W] to [N, C/b², H*b, W*b]; mode "DCR"
// (default) or "CRD".
func DepthToSpace(x *tensor.Dense, blocksize int, mode string) (*tensor.Dense, error) {
	const op = "DepthToSpace"
	if x == nil {
		return nil, shapeErr(op, "missing input")
	}
	in := Dims(x)
	b := blocksize
	if len(in) != 4 || b < 1 || in[1]%(b*b) != 0 {
		return nil, shapeErr(op, "input %v does not fit blocksize %d", in, b)
	}
	N, C, H, W := in[0], in[1], in[2], in[3]
	oc := C / (b * b)
	out := []int{N, oc, H * b, W * b}
	idx := make([]int, prod(out))
	forEachIndex(out, func(i int, ix []int) {
		n, c, y, xx := ix[0], ix[1], ix[2], ix[3]
		by, bx := y%b, xx%b
		var ic int
		switch mode {
		case "CRD":
			ic = c*b*b + by*b + bx
		default:
			ic = (by*b+bx)*oc + c
		}
		idx[i] = ((n*C+ic)*H+y/b)*W + xx/b
	})
	if mode != "" && mode != "DCR" && mode != "CRD" {
		return nil, shapeErr(op, "unknown mode %q", mode)
	}
	return gatherTo(op, x, out, idx)
}

// SpaceToDepth rearranges [N, C, H, W] to [N, C*b², H/b, W/b].
func SpaceToDepth(x *tensor.Dense, blocksize int) (*tensor.Dense, error) {
	const op = "SpaceToDepth"
	if x == nil {
		return nil, shapeErr(op, "missing input")
	}
	in := Dims(x)
	b := blocksize
	if len(in) != 4 || b < 1 || in[2]%b != 0 || in[3]%b != 0 {
		return nil, shapeErr(op, "input %v does not fit blocksize %d", in, b)
	}
	N, C, H, W := in[0], in[1], in[2], in[3]
	out := []int{N, C * b * b, H / b, W / b}
	idx := make([]int, prod(out))
	forEachIndex(out, func(i int, ix []int) {
		n, oc, y, xx := ix[0], ix[1], ix[2], ix[3]
		blk, c := oc/C, oc%C
		by, bx := blk/b, blk%b
		idx[i] = ((n*C+c)*H+y*b+by)*W + xx*b + bx
	})
	return gatherTo(op, x, out, idx)
}
