package kernels

import (
	"math"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/onnxio"
)

// withShape copies x's data into a new tensor of shape sh (same element count).
func withShape(x *tensor.Dense, sh []int) (*tensor.Dense, error) {
	return New(sh, cloneSlice(Flat(x)))
}

// Reshape is ONNX Reshape: a 0 copies the input dim (unless allowZero, when it
// means a zero dim) and one -1 is inferred.
func Reshape(x *tensor.Dense, shape []int, allowZero bool) (*tensor.Dense, error) {
	if x == nil {
		return nil, shapeErr("Reshape", "missing input")
	}
	out, err := ReshapeTarget(Dims(x), shape, allowZero)
	if err != nil {
		return nil, err
	}
	return withShape(x, out)
}

// ReshapeTarget resolves Reshape's shape operand against the input shape in:
// a 0 copies the input dim (unless allowZero) and one -1 is inferred. The
// interpreter uses it to reshape as a view, without copying.
func ReshapeTarget(in, shape []int, allowZero bool) ([]int, error) {
	const op = "Reshape"
	out := make([]int, len(shape))
	infer := -1
	known := 1
	for i, d := range shape {
		switch {
		case d == 0 && !allowZero:
			if i >= len(in) {
				return nil, shapeErr(op, "shape %v copies dim %d of %v, which does not exist", shape, i, in)
			}
			d = in[i]
		case d == -1:
			if infer >= 0 {
				return nil, shapeErr(op, "shape %v has more than one -1", shape)
			}
			infer = i
			continue
		case d < 0:
			return nil, shapeErr(op, "invalid dim %d in shape %v", d, shape)
		}
		out[i] = d
		known *= d
	}
	total := prod(in)
	if infer >= 0 {
		if known == 0 || total%known != 0 {
			return nil, shapeErr(op, "cannot infer -1 reshaping %v to %v", in, shape)
		}
		out[infer] = total / known
	}
	if prod(out) != total {
		return nil, shapeErr(op, "cannot reshape %v (%d elements) to %v", in, total, shape)
	}
	return out, nil
}

// Flatten reshapes x to 2-D [prod(dims[:axis]), prod(dims[axis:])]; axis may be in [-rank, rank].
func Flatten(x *tensor.Dense, axis int) (*tensor.Dense, error) {
	const op = "Flatten"
	if x == nil {
		return nil, shapeErr(op, "missing input")
	}
	in := Dims(x)
	if axis < 0 {
		axis += len(in)
	}
	if axis < 0 || axis > len(in) {
		return nil, shapeErr(op, "axis out of range for rank %d", len(in))
	}
	return withShape(x, []int{prod(in[:axis]), prod(in[axis:])})
}

// Squeeze removes the given size-1 axes, or every size-1 axis when axes is empty.
func Squeeze(x *tensor.Dense, axes []int) (*tensor.Dense, error) {
	const op = "Squeeze"
	if x == nil {
		return nil, shapeErr(op, "missing input")
	}
	in := Dims(x)
	drop := make([]bool, len(in))
	if len(axes) == 0 {
		for i, d := range in {
			drop[i] = d == 1
		}
	}
	for _, a := range axes {
		a, err := normAxis(op, a, len(in))
		if err != nil {
			return nil, err
		}
		if in[a] != 1 {
			return nil, shapeErr(op, "axis %d of %v is not 1", a, in)
		}
		drop[a] = true
	}
	var out []int
	for i, d := range in {
		if !drop[i] {
			out = append(out, d)
		}
	}
	return withShape(x, out)
}

// Unsqueeze inserts size-1 axes at the given positions of the output.
func Unsqueeze(x *tensor.Dense, axes []int) (*tensor.Dense, error) {
	const op = "Unsqueeze"
	if x == nil {
		return nil, shapeErr(op, "missing input")
	}
	in := Dims(x)
	rank := len(in) + len(axes)
	ax, err := sortedAxes(op, axes, rank)
	if err != nil {
		return nil, err
	}
	out := make([]int, 0, rank)
	j, k := 0, 0
	for i := 0; i < rank; i++ {
		if k < len(ax) && ax[k] == i {
			out = append(out, 1)
			k++
			continue
		}
		out = append(out, in[j])
		j++
	}
	return withShape(x, out)
}

// Identity returns a copy of x.
func Identity(x *tensor.Dense) (*tensor.Dense, error) {
	if x == nil {
		return nil, shapeErr("Identity", "missing input")
	}
	return withShape(x, Dims(x))
}

// Shape is ONNX Shape (opset 15 start/end included; pass end >= rank for "all").
func Shape(x *tensor.Dense, start, end int) (*tensor.Dense, error) {
	if x == nil {
		return nil, shapeErr("Shape", "missing input")
	}
	in := Dims(x)
	r := len(in)
	clampAx := func(v int) int {
		if v < 0 {
			v += r
		}
		return min(max(v, 0), r)
	}
	s, e := clampAx(start), clampAx(end)
	var out []int64
	for i := s; i < e; i++ {
		out = append(out, int64(in[i]))
	}
	return New([]int{len(out)}, out)
}

// Size returns the element count of x as an int64 scalar.
func Size(x *tensor.Dense) (*tensor.Dense, error) {
	if x == nil {
		return nil, shapeErr("Size", "missing input")
	}
	return New(nil, []int64{int64(prod(Dims(x)))})
}

// ConstantOfShape returns a tensor of shape filled with value's single element
// (float32 zero when value is nil). An empty shape gives a scalar.
func ConstantOfShape(shape []int, value *tensor.Dense) (*tensor.Dense, error) {
	for _, d := range shape {
		if d < 0 {
			return nil, shapeErr("ConstantOfShape", "negative dim in %v", shape)
		}
	}
	src := any([]float32{0})
	if value != nil {
		src = Flat(value)
		if n, _ := sliceLen(src); n != 1 {
			return nil, shapeErr("ConstantOfShape", "value must hold one element, has %d", n)
		}
	}
	out, err := take("ConstantOfShape", src, make([]int, prod(shape)))
	if err != nil {
		return nil, err
	}
	return New(shape, out)
}

// Range is ONNX Range: start, limit and delta are scalars of one numeric type;
// the output has max(ceil((limit-start)/delta), 0) elements.
func Range(start, limit, delta *tensor.Dense) (*tensor.Dense, error) {
	const op = "Range"
	if start == nil || limit == nil || delta == nil {
		return nil, shapeErr(op, "missing input")
	}
	switch s := Flat(start).(type) {
	case []float32:
		return rangeT(s, Flat(limit), Flat(delta))
	case []float64:
		return rangeT(s, Flat(limit), Flat(delta))
	case []int64:
		return rangeT(s, Flat(limit), Flat(delta))
	case []int32:
		return rangeT(s, Flat(limit), Flat(delta))
	case []int16:
		return rangeT(s, Flat(limit), Flat(delta))
	}
	return nil, dtypeErr(op, Flat(start))
}

func rangeT[T number](s []T, l, d any) (*tensor.Dense, error) {
	ls, ok1 := l.([]T)
	ds, ok2 := d.([]T)
	if !ok1 || !ok2 || len(s) != 1 || len(ls) != 1 || len(ds) != 1 {
		return nil, shapeErr("Range", "start, limit and delta must be scalars of one type")
	}
	st, lim, dl := s[0], ls[0], ds[0]
	if dl == 0 {
		return nil, shapeErr("Range", "delta is zero")
	}
	var n int
	switch any(st).(type) {
	case int64, int32, int16:
		// Exactly, in integers: through float64, bounds near the ends of
		// int64 round to a wrong count.
		c, ok := onnxio.RangeLen(int64(st), int64(lim), int64(dl))
		if !ok || c > math.MaxInt32*64 {
			return nil, shapeErr("Range", "too many elements")
		}
		n = int(c)
	default:
		f := (float64(lim) - float64(st)) / float64(dl)
		n = int(f)
		if float64(n) < f {
			n++
		}
		n = max(n, 0)
	}
	out := make([]T, n)
	for i := range out {
		out[i] = st + T(i)*dl
	}
	return New([]int{n}, out)
}
