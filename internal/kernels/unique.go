package kernels

import (
	"fmt"
	"slices"

	"gorgonia.org/tensor"
)

// Unique finds the distinct elements (or slices along axis) of x, returning
// Y, the first index of each, the inverse map and the counts.
func Unique(x *tensor.Dense, sorted bool, axis int, hasAxis bool) ([]*tensor.Dense, error) {
	sh := Dims(x)
	vals, err := float64s(x)
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
	y, err := gatherTo("Unique", x, ysh, idx)
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
		d, err := New([]int{len(v)}, v)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}
