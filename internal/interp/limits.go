package interp

import (
	"fmt"
	"math"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/kernels"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio"
)

// checkAlloc bounds, before its kernel runs, the output of a node whose
// size comes from tensor data rather than from input sizes alone: shape
// inference cannot see those sizes when they are computed at run time,
// and the kernels allocate whatever they are asked for. Sizes are
// computed in int64 with overflow checks and compared with the model's
// tensor budget; an operand that cannot be read is left to the kernel's
// own error.
func checkAlloc(n *lower.Node, in []*tensor.Dense, lim onnxio.Limits) error {
	arg := func(i int) *tensor.Dense {
		if i < len(in) {
			return in[i]
		}
		return nil
	}
	shapeOf := func(d *tensor.Dense) []int64 {
		s := d.Shape()
		out := make([]int64, len(s))
		for i, v := range s {
			out[i] = int64(v)
		}
		return out
	}
	ints64 := func(d *tensor.Dense) ([]int64, bool) {
		if d == nil {
			return nil, false
		}
		v, err := kernels.Ints(d)
		if err != nil {
			return nil, false
		}
		out := make([]int64, len(v))
		for i, x := range v {
			out[i] = int64(x)
		}
		return out, true
	}
	x := arg(0)
	var dims []int64
	elem := int64(4)
	if x != nil {
		elem = int64(x.Dtype().Size())
	}
	switch n.Target.OpType {
	case "ConstantOfShape":
		s, ok := ints64(x)
		if !ok {
			return nil
		}
		dims = s
		if tp := n.AttrTensor("value"); tp != nil {
			elem = onnxio.ElemBytes(tp.GetDataType())
		} else {
			elem = 4
		}
	case "Range":
		count, ok, err := rangeLength(arg(0), arg(1), arg(2))
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		dims = []int64{count}
	case "Expand":
		s, ok := ints64(arg(1))
		if !ok || x == nil {
			return nil
		}
		xs := shapeOf(x)
		r := max(len(s), len(xs))
		dims = make([]int64, r)
		for i := range r {
			a, b := int64(1), int64(1)
			if j := i - (r - len(xs)); j >= 0 {
				a = xs[j]
			}
			if j := i - (r - len(s)); j >= 0 {
				b = s[j]
			}
			dims[i] = max(a, b)
		}
	case "Tile":
		reps, ok := ints64(arg(1))
		if !ok || x == nil || len(reps) != len(x.Shape()) {
			return nil
		}
		dims = shapeOf(x)
		for i, r := range reps {
			if r < 0 {
				return fmt.Errorf("repeats %v: negative count", reps)
			}
			if r != 0 && dims[i] > math.MaxInt64/r {
				return &onnxio.LimitError{Shape: dims, Reason: fmt.Sprintf("tiling %v by %v overflows int64", shapeOf(x), reps)}
			}
			dims[i] *= r
		}
	case "Pad":
		pads := n.AttrInts("pads", n.AttrInts("paddings", nil))
		if n.Target.Version >= 11 {
			var ok bool
			if pads, ok = ints64(arg(1)); !ok {
				return nil
			}
		}
		if x == nil || arg(3) != nil || len(pads) != 2*len(x.Shape()) {
			return nil
		}
		dims = padded(shapeOf(x), pads)
	case "Resize", "Upsample":
		if x == nil {
			return nil
		}
		if s, ok := ints64(arg(3)); ok && len(s) == len(x.Shape()) && n.Target.Version >= 11 {
			dims = s
			break
		}
		scaleArg := arg(2)
		if n.Target.Version < 11 {
			scaleArg = arg(1)
		}
		if scaleArg == nil {
			return nil
		}
		scales, err := kernels.Float32s(scaleArg)
		if err != nil || len(scales) != len(x.Shape()) {
			return nil
		}
		dims = make([]int64, len(scales))
		for i, sc := range scales {
			f := math.Floor(float64(x.Shape()[i]) * float64(sc))
			if math.IsNaN(f) || f < 0 || f > math.MaxInt64/2 {
				return fmt.Errorf("scale %v on axis %d gives no valid size", sc, i)
			}
			dims[i] = int64(f)
		}
	case "RoiAlign":
		if x == nil || len(x.Shape()) != 4 || arg(1) == nil || len(arg(1).Shape()) != 2 {
			return nil
		}
		dims = []int64{int64(arg(1).Shape()[0]), int64(x.Shape()[1]), n.AttrInt("output_height", 1), n.AttrInt("output_width", 1)}
	case "TfIdfVectorizer":
		if x == nil {
			return nil
		}
		var width int64
		for _, i := range n.AttrInts("ngram_indexes", nil) {
			if i < 0 {
				return fmt.Errorf("ngram_indexes holds %d: indexes are at least 0", i)
			}
			width = max(width, i+1)
		}
		dims = []int64{width}
		if s := shapeOf(x); len(s) == 2 {
			dims = []int64{s[0], width}
		}
		elem = 4
	case "Conv", "ConvInteger", "MaxPool", "AveragePool", "LpPool":
		pads := n.AttrInts("pads", nil)
		if x == nil || len(x.Shape()) < 3 || len(pads) != 2*(len(x.Shape())-2) {
			return nil
		}
		// The padded input is the largest buffer these kernels make.
		full := make([]int64, 2*len(x.Shape()))
		copy(full[2:len(x.Shape())], pads[:len(pads)/2])
		copy(full[len(x.Shape())+2:], pads[len(pads)/2:])
		dims = padded(shapeOf(x), full)
	default:
		return nil
	}
	if dims == nil {
		return nil
	}
	return lim.CheckTensor(dims, elem)
}

// padded is shape grown by ONNX pads (all begins, then all ends); a sum
// that overflows saturates, which the budget then refuses.
func padded(shape, pads []int64) []int64 {
	r := len(shape)
	out := make([]int64, r)
	for i := range r {
		d := shape[i]
		for _, p := range []int64{pads[i], pads[i+r]} {
			if p > 0 && d > math.MaxInt64-p {
				d = math.MaxInt64
			} else {
				d += p
			}
		}
		out[i] = max(d, 0)
	}
	return out
}

// rangeLength is the element count of Range on scalar operands; ok is
// false when they cannot be read (the kernel reports that).
func rangeLength(start, limit, delta *tensor.Dense) (int64, bool, error) {
	if start == nil || limit == nil || delta == nil {
		return 0, false, nil
	}
	switch start.Dtype() {
	case tensor.Float32, tensor.Float64:
		f := func(d *tensor.Dense) (float64, bool) {
			v, err := kernels.Float32s(d)
			if err == nil && len(v) == 1 {
				return float64(v[0]), true
			}
			if vs, ok := d.Data().([]float64); ok && len(vs) == 1 {
				return vs[0], true
			}
			if v, ok := d.Data().(float64); ok {
				return v, true
			}
			return 0, false
		}
		s, ok1 := f(start)
		l, ok2 := f(limit)
		d, ok3 := f(delta)
		if !ok1 || !ok2 || !ok3 {
			return 0, false, nil
		}
		for _, v := range []float64{s, l, d} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return 0, false, fmt.Errorf("Range bounds (%v, %v, %v) must be finite", s, l, d)
			}
		}
		if d == 0 {
			return 0, false, nil
		}
		c := math.Ceil((l - s) / d)
		if c > math.MaxInt64/2 {
			return 0, false, &onnxio.LimitError{Shape: []int64{math.MaxInt64}, Reason: fmt.Sprintf("Range(%v, %v, %v) has %g elements", s, l, d, c)}
		}
		return int64(max(c, 0)), true, nil
	}
	var v [3]int64
	for i, d := range []*tensor.Dense{start, limit, delta} {
		x, err := kernels.Ints(d)
		if err != nil || len(x) != 1 {
			return 0, false, nil
		}
		v[i] = int64(x[0])
	}
	c, ok := onnxio.RangeLen(v[0], v[1], v[2])
	if !ok {
		return 0, false, &onnxio.LimitError{Shape: []int64{math.MaxInt64}, Reason: fmt.Sprintf("Range(%d, %d, %d) has more than 2^63 elements", v[0], v[1], v[2])}
	}
	return c, true, nil
}

// checkStacked bounds a Loop scan output as it grows: the stacked tensor
// has one more leading axis of len(parts) slices.
func checkStacked(parts []*tensor.Dense, lim onnxio.Limits) error {
	last := parts[len(parts)-1]
	dims := append([]int64{int64(len(parts))}, make([]int64, len(last.Shape()))...)
	for i, d := range last.Shape() {
		dims[i+1] = int64(d)
	}
	return lim.CheckTensor(dims, int64(last.Dtype().Size()))
}
