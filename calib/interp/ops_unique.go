package interp

import (
	"fmt"
	"slices"

	"gorgonia.org/tensor"
)

func uniqueOps(t map[string]opBuilder) {
	t["Unique"] = func(c *buildCtx) (kernel, error) {
		sorted := c.n.AttrInt("sorted", 1) != 0
		axis, hasAxis := int(c.n.AttrInt("axis", 0)), c.n.HasAttr("axis")
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return unique(in[0], sorted, axis, hasAxis)
		}, nil
	}
	t["MaxUnpool"] = func(c *buildCtx) (kernel, error) {
		w := c.window()
		if len(c.n.Inputs) > 2 && c.n.Inputs[2] != nil {
			return nil, unsupportedf("MaxUnpool with output_shape")
		}
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(maxUnpool(in, w.Kernel, w.Strides, w.Pads))
		}, nil
	}
}

// unique finds the distinct elements (or slices along axis) of x, returning
// Y, the first index of each, the inverse map and the counts.
func unique(x *tensor.Dense, sorted bool, axis int, hasAxis bool) ([]*tensor.Dense, error) {
	sh := dims(x)
	vals, err := asF64(x)
	if err != nil {
		return nil, err
	}
	if !hasAxis {
		sh = []int{len(vals)}
		axis = 0
	}
	if axis < 0 {
		axis += len(sh)
	}
	if axis < 0 || axis >= len(sh) {
		return nil, fmt.Errorf("axis %d out of range for shape %v", axis, sh)
	}
	outer, n, inner := prod(sh[:axis]), sh[axis], prod(sh[axis+1:])
	key := func(i int) []float64 {
		k := make([]float64, 0, outer*inner)
		for o := 0; o < outer; o++ {
			k = append(k, vals[(o*n+i)*inner:(o*n+i+1)*inner]...)
		}
		return k
	}
	var keys [][]float64
	var first, counts []int64
	inverse := make([]int64, n)
	for i := 0; i < n; i++ {
		k := key(i)
		j := slices.IndexFunc(keys, func(e []float64) bool { return slices.Equal(e, k) })
		if j < 0 {
			j = len(keys)
			keys = append(keys, k)
			first = append(first, int64(i))
			counts = append(counts, 0)
		}
		counts[j]++
		inverse[i] = int64(j)
	}
	order := make([]int, len(keys))
	for i := range order {
		order[i] = i
	}
	if sorted {
		slices.SortStableFunc(order, func(a, b int) int { return slices.Compare(keys[a], keys[b]) })
	}
	rank := make([]int64, len(keys))
	for r, j := range order {
		rank[j] = int64(r)
	}
	var idx []int
	for o := 0; o < outer; o++ {
		for _, j := range order {
			for e := 0; e < inner; e++ {
				idx = append(idx, (o*n+int(first[j]))*inner+e)
			}
		}
	}
	ysh := append([]int(nil), sh...)
	ysh[axis] = len(keys)
	y, err := gatherFlat(x, ysh, idx)
	if err != nil {
		return nil, err
	}
	fi, cs := make([]int64, len(keys)), make([]int64, len(keys))
	for r, j := range order {
		fi[r], cs[r] = first[j], counts[j]
	}
	for i := range inverse {
		inverse[i] = rank[inverse[i]]
	}
	out := []*tensor.Dense{y}
	for _, v := range [][]int64{fi, inverse, cs} {
		d, err := newDense([]int{len(v)}, v)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// maxUnpool scatters X into a zero tensor at the flat positions in I.
func maxUnpool(in []*tensor.Dense, kernel, strides, pads []int) (*tensor.Dense, error) {
	sh := dims(in[0])
	nsp := len(sh) - 2
	if nsp < 1 || len(kernel) != nsp {
		return nil, fmt.Errorf("kernel_shape %v does not fit input %v", kernel, sh)
	}
	osh := append([]int(nil), sh[:2]...)
	for i := 0; i < nsp; i++ {
		st, pb, pe := 1, 0, 0
		if strides != nil {
			st = strides[i]
		}
		if pads != nil {
			pb, pe = pads[i], pads[i+nsp]
		}
		osh = append(osh, (sh[2+i]-1)*st+kernel[i]-pb-pe)
	}
	xs, err := asF64(in[0])
	if err != nil {
		return nil, err
	}
	idx, _, err := shapeArg{idx: 1, has: true}.get(in)
	if err != nil {
		return nil, err
	}
	out := make([]float32, prod(osh))
	for i, j := range idx {
		if j < 0 || j >= len(out) {
			return nil, fmt.Errorf("index %d out of range for output %v", j, osh)
		}
		out[j] = float32(xs[i])
	}
	return newDense(osh, out)
}
