package kernels

import (
	"sort"

	"gorgonia.org/tensor"
)

// TopK returns the k largest (or smallest) values along axis and their int64
// indices. Ties go to the lower index, as ONNX specifies; results are always
// sorted (sorted=false leaves the order unspecified, so sorting is valid).
func TopK(x *tensor.Dense, k, axis int, largest bool) (values, indices *tensor.Dense, err error) {
	const op = "TopK"
	xs, sh, err := f32in(op, x)
	if err != nil {
		return nil, nil, err
	}
	if axis, err = normAxis(op, axis, len(sh)); err != nil {
		return nil, nil, err
	}
	n := sh[axis]
	if k < 0 || k > n {
		return nil, nil, shapeErr(op, "k=%d out of range for dim %d", k, n)
	}
	outer, inner := prod(sh[:axis]), prod(sh[axis+1:])
	osh := append([]int(nil), sh...)
	osh[axis] = k
	vals := make([]float32, outer*k*inner)
	inds := make([]int64, outer*k*inner)
	ord := make([]int, n)
	for o := 0; o < outer; o++ {
		for in := 0; in < inner; in++ {
			base := o*n*inner + in
			for i := range ord {
				ord[i] = i
			}
			sort.SliceStable(ord, func(a, b int) bool {
				va, vb := xs[base+ord[a]*inner], xs[base+ord[b]*inner]
				if largest {
					return va > vb
				}
				return va < vb
			})
			for j := 0; j < k; j++ {
				p := (o*k+j)*inner + in
				vals[p], inds[p] = xs[base+ord[j]*inner], int64(ord[j])
			}
		}
	}
	if values, err = New(osh, vals); err != nil {
		return nil, nil, err
	}
	indices, err = New(osh, inds)
	return values, indices, err
}

// CumSum is ONNX CumSum along axis with the exclusive and reverse flags.
func CumSum(x *tensor.Dense, axis int, exclusive, reverse bool) (*tensor.Dense, error) {
	const op = "CumSum"
	if x == nil {
		return nil, shapeErr(op, "missing input")
	}
	sh := Dims(x)
	axis, err := normAxis(op, axis, len(sh))
	if err != nil {
		return nil, err
	}
	outer, n, inner := prod(sh[:axis]), sh[axis], prod(sh[axis+1:])
	var out any
	switch s := Flat(x).(type) {
	case []float32:
		out = cumsumT(s, outer, n, inner, exclusive, reverse)
	case []float64:
		out = cumsumT(s, outer, n, inner, exclusive, reverse)
	case []int64:
		out = cumsumT(s, outer, n, inner, exclusive, reverse)
	case []int32:
		out = cumsumT(s, outer, n, inner, exclusive, reverse)
	default:
		return nil, dtypeErr(op, s)
	}
	return New(sh, out)
}

func cumsumT[T number](s []T, outer, n, inner int, excl, rev bool) []T {
	out := make([]T, len(s))
	for o := 0; o < outer; o++ {
		for in := 0; in < inner; in++ {
			var acc T
			for j := 0; j < n; j++ {
				i := j
				if rev {
					i = n - 1 - j
				}
				p := (o*n+i)*inner + in
				if excl {
					out[p] = acc
					acc += s[p]
				} else {
					acc += s[p]
					out[p] = acc
				}
			}
		}
	}
	return out
}

// OneHot is ONNX OneHot: values holds [off, on]; indices in [-depth, depth)
// (negative ones wrap) select the on position along the new axis; others stay off.
func OneHot(indices *tensor.Dense, depth int, values *tensor.Dense, axis int) (*tensor.Dense, error) {
	const op = "OneHot"
	if indices == nil || values == nil {
		return nil, shapeErr(op, "missing input")
	}
	ind, err := oneHotIndices(indices)
	if err != nil {
		return nil, err
	}
	vals := Flat(values)
	if n, _ := sliceLen(vals); n != 2 {
		return nil, shapeErr(op, "values must hold [off, on]")
	}
	if depth < 1 {
		return nil, shapeErr(op, "depth %d must be positive", depth)
	}
	ish := Dims(indices)
	axis, err = normAxis(op, axis, len(ish)+1)
	if err != nil {
		return nil, err
	}
	outer, inner := prod(ish[:axis]), prod(ish[axis:])
	osh := append(append(append([]int(nil), ish[:axis]...), depth), ish[axis:]...)
	idx := make([]int, prod(osh)) // 0 = off, 1 = on
	for o := 0; o < outer; o++ {
		for in := 0; in < inner; in++ {
			v := ind[o*inner+in]
			if v < 0 {
				v += depth
			}
			if v >= 0 && v < depth {
				idx[(o*depth+v)*inner+in] = 1
			}
		}
	}
	out, err := take(op, vals, idx)
	if err != nil {
		return nil, err
	}
	return New(osh, out)
}

func oneHotIndices(t *tensor.Dense) ([]int, error) {
	switch s := Flat(t).(type) {
	case []float32:
		r := make([]int, len(s))
		for i, v := range s {
			r[i] = int(v)
		}
		return r, nil
	case []float64:
		r := make([]int, len(s))
		for i, v := range s {
			r[i] = int(v)
		}
		return r, nil
	}
	return Ints(t)
}

// NonZero returns the int64 coordinates [rank, count] of non-zero elements in
// row-major order ([rank, 0] when there is none).
func NonZero(x *tensor.Dense) (*tensor.Dense, error) {
	const op = "NonZero"
	if x == nil {
		return nil, shapeErr(op, "missing input")
	}
	nz, ok := castBool(Flat(x)).([]bool)
	if !ok {
		return nil, dtypeErr(op, Flat(x))
	}
	sh := Dims(x)
	if len(sh) == 0 {
		sh = []int{1}
	}
	var hits [][]int
	forEachIndex(sh, func(i int, ix []int) {
		if nz[i] {
			hits = append(hits, append([]int(nil), ix...))
		}
	})
	r := len(sh)
	out := make([]int64, r*len(hits))
	for j, h := range hits {
		for d := 0; d < r; d++ {
			out[d*len(hits)+j] = int64(h[d])
		}
	}
	return New([]int{r, len(hits)}, out)
}
