package kernels

import (
	"math"
	"sort"

	"gorgonia.org/tensor"
)

// Reduction names a Reduce* op.
type Reduction int

// The ONNX reductions.
const (
	RedSum Reduction = iota
	RedMean
	RedMax
	RedMin
	RedProd
	RedL1
	RedL2
	RedSumSquare
	RedLogSum
	RedLogSumExp
)

var redNames = [...]string{"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp"}

func (r Reduction) String() string { return redNames[r] }

// ReduceMean etc. are thin names over Reduce.
func ReduceMean(x *tensor.Dense, axes []int, keepDims, noopWithEmptyAxes bool) (*tensor.Dense, error) {
	return Reduce(RedMean, x, axes, keepDims, noopWithEmptyAxes)
}

// ReduceSum sums over axes.
func ReduceSum(x *tensor.Dense, axes []int, keepDims, noopWithEmptyAxes bool) (*tensor.Dense, error) {
	return Reduce(RedSum, x, axes, keepDims, noopWithEmptyAxes)
}

// ReduceMax takes the max over axes.
func ReduceMax(x *tensor.Dense, axes []int, keepDims, noopWithEmptyAxes bool) (*tensor.Dense, error) {
	return Reduce(RedMax, x, axes, keepDims, noopWithEmptyAxes)
}

// ReduceMin takes the min over axes.
func ReduceMin(x *tensor.Dense, axes []int, keepDims, noopWithEmptyAxes bool) (*tensor.Dense, error) {
	return Reduce(RedMin, x, axes, keepDims, noopWithEmptyAxes)
}

// Reduce applies reduction r over axes (negative allowed). Empty axes reduce
// everything unless noopWithEmptyAxes, which returns x unchanged (ONNX opset 13/18
// semantics; older opsets simply pass noopWithEmptyAxes=false). Float32 and
// float64 reductions accumulate in float64; integer inputs support Sum,
// Prod, Max, Min.
func Reduce(r Reduction, x *tensor.Dense, axes []int, keepDims, noopWithEmptyAxes bool) (*tensor.Dense, error) {
	op := r.String()
	if x == nil {
		return nil, shapeErr(op, "missing input")
	}
	sh := Dims(x)
	if len(axes) == 0 && noopWithEmptyAxes {
		return New(sh, cloneSlice(Flat(x)))
	}
	red := make([]bool, len(sh))
	if len(axes) == 0 {
		for i := range red {
			red[i] = true
		}
	}
	for _, a := range axes {
		a, err := normAxis(op, a, len(sh))
		if err != nil {
			return nil, err
		}
		red[a] = true
	}
	kept := make([]int, len(sh)) // keepdims shape
	var osh []int
	for i, d := range sh {
		kept[i] = d
		if red[i] {
			kept[i] = 1
			if keepDims {
				osh = append(osh, 1)
			}
			continue
		}
		osh = append(osh, d)
	}
	idx := bcastIndex(kept, sh)
	n := prod(kept)
	cnt := prod(sh) / n
	var out any
	switch s := Flat(x).(type) {
	case []float32:
		out = reduceFloat(r, s, idx, n, cnt)
	case []float64:
		out = reduceFloat(r, s, idx, n, cnt)
	case []int64:
		out = reduceInt(r, s, idx, n)
	case []int32:
		out = reduceInt(r, s, idx, n)
	}
	if out == nil {
		return nil, dtypeErr(op, Flat(x))
	}
	return New(osh, out)
}

// reduceFloat reduces float32 or float64 values, accumulating in float64.
func reduceFloat[T float32 | float64](r Reduction, s []T, idx []int, n, cnt int) []T {
	acc := make([]float64, n)
	switch r {
	case RedMax, RedMin:
		init := math.Inf(-1)
		if r == RedMin {
			init = math.Inf(1)
		}
		for i := range acc {
			acc[i] = init
		}
		for i, v := range s {
			a, f := acc[idx[i]], float64(v)
			if f != f || (r == RedMax && f > a) || (r == RedMin && f < a) {
				acc[idx[i]] = f
			}
		}
	case RedProd:
		for i := range acc {
			acc[i] = 1
		}
		for i, v := range s {
			acc[idx[i]] *= float64(v)
		}
	case RedLogSumExp:
		mx := make([]float64, n)
		for i := range mx {
			mx[i] = math.Inf(-1)
		}
		for i, v := range s {
			mx[idx[i]] = math.Max(mx[idx[i]], float64(v))
		}
		for i, v := range s {
			acc[idx[i]] += math.Exp(float64(v) - mx[idx[i]])
		}
		for i := range acc {
			acc[i] = math.Log(acc[i]) + mx[i]
		}
	default:
		for i, v := range s {
			f := float64(v)
			switch r {
			case RedL1:
				f = math.Abs(f)
			case RedL2, RedSumSquare:
				f *= f
			}
			acc[idx[i]] += f
		}
		for i := range acc {
			switch r {
			case RedMean:
				acc[i] /= float64(cnt)
			case RedL2:
				acc[i] = math.Sqrt(acc[i])
			case RedLogSum:
				acc[i] = math.Log(acc[i])
			}
		}
	}
	out := make([]T, n)
	for i, v := range acc {
		out[i] = T(v)
	}
	return out
}

func reduceInt[T int64 | int32](r Reduction, s []T, idx []int, n int) any {
	out := make([]T, n)
	seen := make([]bool, n)
	for i, v := range s {
		j := idx[i]
		switch r {
		case RedSum, RedMean:
			out[j] += v
		case RedProd:
			if !seen[j] {
				out[j] = 1
			}
			out[j] *= v
		case RedMax:
			if !seen[j] || v > out[j] {
				out[j] = v
			}
		case RedMin:
			if !seen[j] || v < out[j] {
				out[j] = v
			}
		default:
			return nil
		}
		seen[j] = true
	}
	if r == RedMean {
		return nil
	}
	return out
}

// ArgMax returns int64 indices of the maxima along axis (first occurrence, or the
// last with selectLastIndex); keepDims keeps the reduced axis as size 1.
func ArgMax(x *tensor.Dense, axis int, keepDims, selectLastIndex bool) (*tensor.Dense, error) {
	return argExt("ArgMax", x, axis, keepDims, selectLastIndex, true)
}

// ArgMin is ArgMax for minima.
func ArgMin(x *tensor.Dense, axis int, keepDims, selectLastIndex bool) (*tensor.Dense, error) {
	return argExt("ArgMin", x, axis, keepDims, selectLastIndex, false)
}

func argExt(op string, x *tensor.Dense, axis int, keepDims, last, isMax bool) (*tensor.Dense, error) {
	if x == nil {
		return nil, shapeErr(op, "missing input")
	}
	sh := Dims(x)
	if len(sh) == 0 {
		sh = []int{1}
	}
	axis, err := normAxis(op, axis, len(sh))
	if err != nil {
		return nil, err
	}
	outer, n, inner := prod(sh[:axis]), sh[axis], prod(sh[axis+1:])
	var out []int64
	switch s := Flat(x).(type) {
	case []float32:
		out = argT(s, outer, n, inner, last, isMax)
	case []float64:
		out = argT(s, outer, n, inner, last, isMax)
	case []int64:
		out = argT(s, outer, n, inner, last, isMax)
	case []int32:
		out = argT(s, outer, n, inner, last, isMax)
	case []uint8:
		out = argT(s, outer, n, inner, last, isMax)
	case []int8:
		out = argT(s, outer, n, inner, last, isMax)
	default:
		return nil, dtypeErr(op, s)
	}
	osh := append([]int(nil), sh...)
	if keepDims {
		osh[axis] = 1
	} else {
		osh = append(osh[:axis], osh[axis+1:]...)
	}
	return New(osh, out)
}

func argT[T number](s []T, outer, n, inner int, last, isMax bool) []int64 {
	out := make([]int64, outer*inner)
	for o := 0; o < outer; o++ {
		for in := 0; in < inner; in++ {
			base := o*n*inner + in
			best, bi := s[base], 0
			for i := 1; i < n; i++ {
				v := s[base+i*inner]
				better := (isMax && v > best) || (!isMax && v < best)
				if better || (last && v == best) {
					best, bi = v, i
				}
			}
			out[o*inner+in] = int64(bi)
		}
	}
	return out
}

// sortedAxes normalizes and sorts axes, rejecting duplicates.
func sortedAxes(op string, axes []int, rank int) ([]int, error) {
	r := make([]int, len(axes))
	for i, a := range axes {
		a, err := normAxis(op, a, rank)
		if err != nil {
			return nil, err
		}
		r[i] = a
	}
	sort.Ints(r)
	for i := 1; i < len(r); i++ {
		if r[i] == r[i-1] {
			return nil, shapeErr(op, "duplicate axis in %v", axes)
		}
	}
	return r, nil
}
