package lower

import (
	"fmt"
	"math"
	"slices"

	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// constantValue decodes the tensor a Constant node produces.
func constantValue(n *Node, dir string, limit int64) (*cTensor, error) {
	t := ConstantNodeTensor(n)
	if t == nil {
		return nil, errNoEval
	}
	return cTensorFromProto(t, dir, limit)
}

// evalNode computes the outputs of a default-domain node from constant
// inputs (nil entries are omitted optional inputs). It returns errNoEval
// for anything outside its small op set or above maxConstElems
// (maxSplatElems for the copying ops ConstantOfShape and Expand).
func evalNode(n *Node, ins []*cTensor, dir string) ([]*cTensor, error) {
	if n.Target.Domain != "" && n.Target.Domain != "ai.onnx" {
		return nil, errNoEval
	}
	in := func(i int) *cTensor {
		if i < len(ins) {
			return ins[i]
		}
		return nil
	}
	var out *cTensor
	var err error
	switch op := n.Target.OpType; op {
	case "Constant":
		out, err = constantValue(n, dir, maxConstElems)
	case "Identity":
		out = in(0)
	case "Shape":
		out = shapeOf(in(0).Shape, n.AttrInt("start", 0), n.Attr("end"), n.AttrInt("end", 0))
	case "Size":
		out = int64Tensor([]int64{}, []int64{numElems(in(0).Shape)})
	case "Cast":
		out = castTensor(in(0), int32(n.AttrInt("to", 0)))
	case "Add", "Sub", "Mul", "Div", "Pow", "Mod", "Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual", "And", "Or", "Xor":
		out, err = binaryEval(op, in(0), in(1))
	case "Min", "Max", "Sum":
		out = ins[0]
		for _, x := range ins[1:] {
			if out, err = binaryEval(op, out, x); err != nil {
				break
			}
		}
	case "Neg", "Abs", "Floor", "Ceil", "Sqrt", "Not", "Sign", "Reciprocal", "Relu":
		out = unaryEval(op, in(0))
	case "Where":
		out, err = whereEval(in(0), in(1), in(2))
	case "Gather":
		out, err = gatherEval(in(0), in(1), n.AttrInt("axis", 0))
	case "Concat":
		out, err = concatEval(ins, n.AttrInt("axis", 0))
	case "Unsqueeze":
		axes := n.AttrInts("axes", nil)
		if in(1) != nil {
			axes = in(1).ints()
		}
		out, err = unsqueezeEval(in(0), axes)
	case "Squeeze":
		axes := n.AttrInts("axes", nil)
		if in(1) != nil {
			axes = in(1).ints()
		}
		out, err = squeezeEval(in(0), axes)
	case "Slice":
		starts, ends, axes, steps := n.AttrInts("starts", nil), n.AttrInts("ends", nil), n.AttrInts("axes", nil), []int64(nil)
		if in(1) != nil {
			starts, ends = in(1).ints(), in(2).ints()
			if in(3) != nil {
				axes = in(3).ints()
			}
			if in(4) != nil {
				steps = in(4).ints()
			}
		}
		out, err = sliceEval(in(0), starts, ends, axes, steps)
	case "Reshape":
		shape, e := reshapeTarget(in(0).Shape, in(1).ints(), n.AttrInt("allowzero", 0) != 0)
		if e != nil {
			return nil, e
		}
		out = &cTensor{DType: in(0).DType, Shape: shape, I: in(0).I, F: in(0).F}
	case "Expand":
		shape, e := broadcast(in(0).Shape, in(1).ints())
		if e != nil {
			return nil, e
		}
		if numElems(shape) > maxSplatElems {
			return nil, errNoEval
		}
		idx := bcastIndex(shape, in(0).Shape)
		out = gatherElems(in(0), shape, func(k int) int { return idx[k] })
	case "ConstantOfShape":
		shape := in(0).ints()
		if numElems(shape) > maxSplatElems {
			return nil, errNoEval
		}
		val := &cTensor{DType: int32(onnxpb.TensorProto_FLOAT), Shape: []int64{}, F: []float64{0}}
		if t := n.AttrTensor("value"); t != nil {
			if val, err = cTensorFromProto(t, dir, 1); err != nil {
				return nil, err
			}
		}
		out = gatherElems(val, shape, func(int) int { return 0 })
	case "Range":
		out, err = rangeEval(in(0), in(1), in(2))
	case "ReduceProd", "ReduceSum", "ReduceMin", "ReduceMax":
		axes := n.AttrInts("axes", nil)
		if in(1) != nil {
			axes = in(1).ints()
		}
		if len(axes) == 0 && n.AttrInt("noop_with_empty_axes", 0) != 0 {
			out = in(0)
			break
		}
		out, err = reduceEval(op, in(0), axes, n.AttrInt("keepdims", 1) != 0)
	case "Transpose":
		out, err = transposeEval(in(0), n.AttrInts("perm", nil))
	default:
		return nil, errNoEval
	}
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, errNoEval
	}
	splat := n.Target.OpType == "Expand" || n.Target.OpType == "ConstantOfShape"
	if out.Len() > maxConstElems && !splat || out.Len() > maxSplatElems {
		return nil, errNoEval
	}
	return []*cTensor{out}, nil
}

// shapeOf is the Shape operator on a known shape, with opset 15's
// start/end slicing (end absent means the rank).
func shapeOf(shape []int64, start int64, endAttr *onnxpb.AttributeProto, end int64) *cTensor {
	r := int64(len(shape))
	clamp := func(x int64) int64 {
		if x < 0 {
			x += r
		}
		return min(max(x, 0), r)
	}
	s, e := clamp(start), r
	if endAttr != nil {
		e = clamp(end)
	}
	if e < s {
		e = s
	}
	vals := append([]int64{}, shape[s:e]...)
	return int64Tensor([]int64{int64(len(vals))}, vals)
}

func castTensor(t *cTensor, to int32) *cTensor {
	if !isFloatType(to) && !isIntType(to) {
		return nil
	}
	out := newCTensor(to, t.Shape)
	for i := 0; i < t.Len(); i++ {
		switch {
		case isFloatType(t.DType) && to == int32(onnxpb.TensorProto_BOOL):
			out.setInt(i, b2i(t.F[i] != 0))
		case isFloatType(t.DType) && !isFloatType(to):
			f := t.F[i]
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return nil
			}
			out.setInt(i, int64(f))
		case isFloatType(t.DType):
			out.setFloat(i, t.F[i])
		default:
			out.setInt(i, t.I[i])
		}
	}
	return out
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func binaryEval(op string, a, b *cTensor) (*cTensor, error) {
	if a == nil || b == nil {
		return nil, errNoEval
	}
	shape, err := broadcast(a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	if numElems(shape) > maxConstElems {
		return nil, errNoEval
	}
	ia, ib := bcastIndex(shape, a.Shape), bcastIndex(shape, b.Shape)
	dt := a.DType
	cmp := false
	switch op {
	case "Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual":
		dt, cmp = int32(onnxpb.TensorProto_BOOL), true
	}
	out := newCTensor(dt, shape)
	useFloat := isFloatType(a.DType)
	for k := range ia {
		if useFloat {
			x, y := a.float(ia[k]), b.float(ib[k])
			var r float64
			switch op {
			case "Add", "Sum":
				r = x + y
			case "Sub":
				r = x - y
			case "Mul":
				r = x * y
			case "Div":
				r = x / y
			case "Pow":
				r = math.Pow(x, y)
			case "Mod":
				r = math.Mod(x, y)
			case "Min":
				r = math.Min(x, y)
			case "Max":
				r = math.Max(x, y)
			case "Equal":
				r = float64(b2i(x == y))
			case "Greater":
				r = float64(b2i(x > y))
			case "Less":
				r = float64(b2i(x < y))
			case "GreaterOrEqual":
				r = float64(b2i(x >= y))
			case "LessOrEqual":
				r = float64(b2i(x <= y))
			default:
				return nil, errNoEval
			}
			if cmp {
				out.setInt(k, int64(r))
			} else {
				out.setFloat(k, r)
			}
			continue
		}
		x, y := a.I[ia[k]], b.int(ib[k])
		var r int64
		switch op {
		case "Add", "Sum":
			r = x + y
		case "Sub":
			r = x - y
		case "Mul":
			r = x * y
		case "Div", "Mod":
			if y == 0 {
				return nil, errNoEval
			}
			if op == "Div" {
				r = x / y
			} else {
				// ONNX integer Mod (fmod=0) takes the divisor's sign.
				r = x % y
				if r != 0 && (r < 0) != (y < 0) {
					r += y
				}
			}
		case "Pow":
			r = int64(math.Pow(float64(x), float64(y)))
		case "Min":
			r = min(x, y)
		case "Max":
			r = max(x, y)
		case "Equal":
			r = b2i(x == y)
		case "Greater":
			r = b2i(x > y)
		case "Less":
			r = b2i(x < y)
		case "GreaterOrEqual":
			r = b2i(x >= y)
		case "LessOrEqual":
			r = b2i(x <= y)
		case "And":
			r = b2i(x != 0 && y != 0)
		case "Or":
			r = b2i(x != 0 || y != 0)
		case "Xor":
			r = b2i((x != 0) != (y != 0))
		default:
			return nil, errNoEval
		}
		out.setInt(k, r)
	}
	return out, nil
}

func unaryEval(op string, a *cTensor) *cTensor {
	if a == nil {
		return nil
	}
	out := newCTensor(a.DType, a.Shape)
	for i := 0; i < a.Len(); i++ {
		if isFloatType(a.DType) {
			x := a.F[i]
			var r float64
			switch op {
			case "Neg":
				r = -x
			case "Abs":
				r = math.Abs(x)
			case "Floor":
				r = math.Floor(x)
			case "Ceil":
				r = math.Ceil(x)
			case "Sqrt":
				r = math.Sqrt(x)
			case "Reciprocal":
				r = 1 / x
			case "Relu":
				r = math.Max(x, 0)
			case "Sign":
				r = float64(b2i(x > 0) - b2i(x < 0))
			default:
				return nil
			}
			out.setFloat(i, r)
			continue
		}
		x := a.I[i]
		var r int64
		switch op {
		case "Neg":
			r = -x
		case "Abs":
			r = max(x, -x)
		case "Floor", "Ceil":
			r = x
		case "Relu":
			r = max(x, 0)
		case "Sign":
			r = b2i(x > 0) - b2i(x < 0)
		case "Not":
			r = b2i(x == 0)
		default:
			return nil
		}
		out.setInt(i, r)
	}
	return out
}

func whereEval(c, x, y *cTensor) (*cTensor, error) {
	if c == nil || x == nil || y == nil {
		return nil, errNoEval
	}
	shape, err := broadcast(c.Shape, x.Shape, y.Shape)
	if err != nil {
		return nil, err
	}
	if numElems(shape) > maxConstElems {
		return nil, errNoEval
	}
	ic, ix, iy := bcastIndex(shape, c.Shape), bcastIndex(shape, x.Shape), bcastIndex(shape, y.Shape)
	out := newCTensor(x.DType, shape)
	for k := range ic {
		src, j := y, iy[k]
		if c.int(ic[k]) != 0 {
			src, j = x, ix[k]
		}
		if out.F != nil {
			out.F[k] = src.float(j)
		} else {
			out.I[k] = src.int(j)
		}
	}
	return out, nil
}

func gatherEval(data, idx *cTensor, axis int64) (*cTensor, error) {
	if data == nil || idx == nil {
		return nil, errNoEval
	}
	ax, err := normAxis(axis, len(data.Shape))
	if err != nil {
		return nil, err
	}
	dim := data.Shape[ax]
	shape := append(append(append([]int64{}, data.Shape[:ax]...), idx.Shape...), data.Shape[ax+1:]...)
	if numElems(shape) > maxConstElems {
		return nil, errNoEval
	}
	outer := numElems(data.Shape[:ax])
	inner := numElems(data.Shape[ax+1:])
	ni := int64(idx.Len())
	ids := idx.ints()
	for i, v := range ids {
		if v < 0 {
			v += dim
		}
		if v < 0 || v >= dim {
			return nil, fmt.Errorf("gather index %d out of range for dimension %d", ids[i], dim)
		}
		ids[i] = v
	}
	return gatherElems(data, shape, func(k int) int {
		kk := int64(k)
		in := kk % inner
		j := (kk / inner) % ni
		o := kk / inner / ni
		_ = outer
		return int((o*dim+ids[j])*inner + in)
	}), nil
}

func concatEval(ins []*cTensor, axis int64) (*cTensor, error) {
	if len(ins) == 0 || slices.Contains(ins, nil) {
		return nil, errNoEval
	}
	ax, err := normAxis(axis, len(ins[0].Shape))
	if err != nil {
		return nil, err
	}
	shape := append([]int64{}, ins[0].Shape...)
	shape[ax] = 0
	for _, t := range ins {
		if len(t.Shape) != len(shape) {
			return nil, fmt.Errorf("concat of ranks %d and %d", len(shape), len(t.Shape))
		}
		shape[ax] += t.Shape[ax]
	}
	out := newCTensor(ins[0].DType, shape)
	outer := numElems(shape[:ax])
	inner := numElems(shape[ax+1:])
	k := 0
	for o := int64(0); o < outer; o++ {
		for _, t := range ins {
			chunk := t.Shape[ax] * inner
			for j := int64(0); j < chunk; j++ {
				src := int(o*chunk + j)
				if out.F != nil {
					out.F[k] = t.float(src)
				} else {
					out.I[k] = t.int(src)
				}
				k++
			}
		}
	}
	return out, nil
}

// unsqueezeShape inserts size-1 dimensions at axes of the output rank.
func unsqueezeShape[T any](shape []T, axes []int64, one T) ([]T, error) {
	rank := len(shape) + len(axes)
	ins := make([]bool, rank)
	for _, a := range axes {
		ax, err := normAxis(a, rank)
		if err != nil {
			return nil, err
		}
		if ins[ax] {
			return nil, fmt.Errorf("unsqueeze axis %d repeated", a)
		}
		ins[ax] = true
	}
	out := make([]T, 0, rank)
	j := 0
	for i := 0; i < rank; i++ {
		if ins[i] {
			out = append(out, one)
			continue
		}
		if j >= len(shape) {
			return nil, fmt.Errorf("unsqueeze axes %v do not fit rank %d", axes, len(shape))
		}
		out = append(out, shape[j])
		j++
	}
	return out, nil
}

func unsqueezeEval(t *cTensor, axes []int64) (*cTensor, error) {
	if t == nil {
		return nil, errNoEval
	}
	shape, err := unsqueezeShape(t.Shape, axes, int64(1))
	if err != nil {
		return nil, err
	}
	return &cTensor{DType: t.DType, Shape: shape, I: t.I, F: t.F}, nil
}

func squeezeEval(t *cTensor, axes []int64) (*cTensor, error) {
	if t == nil {
		return nil, errNoEval
	}
	drop := make([]bool, len(t.Shape))
	if len(axes) == 0 {
		for i, d := range t.Shape {
			drop[i] = d == 1
		}
	}
	for _, a := range axes {
		ax, err := normAxis(a, len(t.Shape))
		if err != nil {
			return nil, err
		}
		if t.Shape[ax] != 1 {
			return nil, fmt.Errorf("squeeze of axis %d of size %d", a, t.Shape[ax])
		}
		drop[ax] = true
	}
	var shape []int64
	for i, d := range t.Shape {
		if !drop[i] {
			shape = append(shape, d)
		}
	}
	if shape == nil {
		shape = []int64{}
	}
	return &cTensor{DType: t.DType, Shape: shape, I: t.I, F: t.F}, nil
}

// sliceBounds resolves Slice's start/end/step for one axis of size dim
// following the ONNX clamping rules, and returns the element count.
func sliceBounds(start, end, step, dim int64) (s, e, n int64) {
	if start < 0 {
		start += dim
	}
	if end < 0 {
		end += dim
	}
	if step > 0 {
		s, e = min(max(start, 0), dim), min(max(end, 0), dim)
		if e > s {
			n = (e - s + step - 1) / step
		}
	} else {
		s, e = min(max(start, 0), dim-1), min(max(end, -1), dim-1)
		if s > e {
			n = (s - e + (-step) - 1) / (-step)
		}
	}
	return s, e, n
}

func sliceEval(t *cTensor, starts, ends, axes, steps []int64) (*cTensor, error) {
	if t == nil || len(starts) != len(ends) {
		return nil, errNoEval
	}
	rank := len(t.Shape)
	begin := make([]int64, rank)
	step := make([]int64, rank)
	shape := append([]int64{}, t.Shape...)
	for i := range step {
		step[i] = 1
	}
	for i := range starts {
		ax := int64(i)
		if axes != nil {
			ax = axes[i]
		}
		a, err := normAxis(ax, rank)
		if err != nil {
			return nil, err
		}
		st := int64(1)
		if steps != nil {
			st = steps[i]
		}
		if st == 0 {
			return nil, fmt.Errorf("slice step 0")
		}
		s, _, n := sliceBounds(starts[i], ends[i], st, t.Shape[a])
		begin[a], step[a], shape[a] = s, st, n
	}
	src := strides(t.Shape)
	dst := strides(shape)
	return gatherElems(t, shape, func(k int) int {
		kk := int64(k)
		var p int64
		for i := range shape {
			c := kk / dst[i]
			kk %= dst[i]
			p += (begin[i] + c*step[i]) * src[i]
		}
		return int(p)
	}), nil
}

// reshapeTarget resolves Reshape's shape input (0 copies, -1 infers) for
// a fully known input shape.
func reshapeTarget(in, target []int64, allowZero bool) ([]int64, error) {
	out := append([]int64{}, target...)
	neg := -1
	prod := int64(1)
	for i, d := range out {
		switch {
		case d == -1:
			if neg >= 0 {
				return nil, fmt.Errorf("reshape target %v has two -1", target)
			}
			neg = i
			continue
		case d == 0 && !allowZero:
			if i >= len(in) {
				return nil, fmt.Errorf("reshape target %v copies dimension %d of %v", target, i, in)
			}
			out[i] = in[i]
		case d < 0:
			return nil, fmt.Errorf("reshape target %v has a negative size", target)
		}
		prod *= out[i]
	}
	total := numElems(in)
	if neg >= 0 {
		if prod == 0 || total%prod != 0 {
			return nil, fmt.Errorf("cannot reshape %v to %v", in, target)
		}
		out[neg] = total / prod
	} else if prod != total {
		return nil, fmt.Errorf("cannot reshape %v (%d elements) to %v", in, total, target)
	}
	return out, nil
}

func rangeEval(start, limit, delta *cTensor) (*cTensor, error) {
	if start == nil || limit == nil || delta == nil {
		return nil, errNoEval
	}
	if isFloatType(start.DType) {
		s, l, d := start.float(0), limit.float(0), delta.float(0)
		if d == 0 {
			return nil, fmt.Errorf("range delta 0")
		}
		n, ok := rangeCountFloat(s, l, d)
		if !ok || n > maxConstElems {
			return nil, errNoEval
		}
		out := newCTensor(start.DType, []int64{n})
		for i := range out.F {
			out.setFloat(i, s+float64(i)*d)
		}
		return out, nil
	}
	s, l, d := start.I[0], limit.int(0), delta.int(0)
	if d == 0 {
		return nil, fmt.Errorf("range delta 0")
	}
	n, ok := onnxio.RangeLen(s, l, d)
	if !ok || n > maxConstElems {
		return nil, errNoEval
	}
	out := newCTensor(start.DType, []int64{n})
	for i := range out.I {
		out.setInt(i, s+int64(i)*d)
	}
	return out, nil
}

func sign(x int64) int64 {
	if x < 0 {
		return -1
	}
	return 1
}

func reduceEval(op string, t *cTensor, axes []int64, keep bool) (*cTensor, error) {
	if t == nil {
		return nil, errNoEval
	}
	rank := len(t.Shape)
	red := make([]bool, rank)
	if len(axes) == 0 {
		for i := range red {
			red[i] = true
		}
	}
	for _, a := range axes {
		ax, err := normAxis(a, rank)
		if err != nil {
			return nil, err
		}
		red[ax] = true
	}
	keptShape := make([]int64, rank)
	var shape []int64
	for i, d := range t.Shape {
		keptShape[i] = d
		if red[i] {
			keptShape[i] = 1
			if keep {
				shape = append(shape, 1)
			}
		} else {
			shape = append(shape, d)
		}
	}
	if shape == nil {
		shape = []int64{}
	}
	out := newCTensor(t.DType, shape)
	acc := make([]float64, out.Len())
	accI := make([]int64, out.Len())
	seen := make([]bool, out.Len())
	src := strides(t.Shape)
	dst := strides(keptShape)
	for k := 0; k < t.Len(); k++ {
		kk, p := int64(k), int64(0)
		for i := range t.Shape {
			c := kk / src[i]
			kk %= src[i]
			if !red[i] {
				p += c * dst[i]
			}
		}
		x, xi := t.float(k), t.int(k)
		if !seen[p] {
			acc[p], accI[p], seen[p] = x, xi, true
			continue
		}
		switch op {
		case "ReduceProd":
			acc[p] *= x
			accI[p] *= xi
		case "ReduceSum":
			acc[p] += x
			accI[p] += xi
		case "ReduceMin":
			acc[p] = math.Min(acc[p], x)
			accI[p] = min(accI[p], xi)
		case "ReduceMax":
			acc[p] = math.Max(acc[p], x)
			accI[p] = max(accI[p], xi)
		}
	}
	for i := range acc {
		if !seen[i] {
			// Reducing an empty axis: the identity of the reduction.
			switch op {
			case "ReduceProd":
				acc[i], accI[i] = 1, 1
			case "ReduceMin", "ReduceMax":
				return nil, errNoEval
			}
		}
		if isFloatType(t.DType) {
			out.setFloat(i, acc[i])
		} else {
			out.setInt(i, accI[i])
		}
	}
	return out, nil
}

func transposeEval(t *cTensor, perm []int64) (*cTensor, error) {
	if t == nil {
		return nil, errNoEval
	}
	rank := len(t.Shape)
	if perm == nil {
		for i := rank - 1; i >= 0; i-- {
			perm = append(perm, int64(i))
		}
	}
	if len(perm) != rank {
		return nil, fmt.Errorf("transpose perm %v for rank %d", perm, rank)
	}
	shape := make([]int64, rank)
	for i, p := range perm {
		shape[i] = t.Shape[p]
	}
	src := strides(t.Shape)
	dst := strides(shape)
	return gatherElems(t, shape, func(k int) int {
		kk, p := int64(k), int64(0)
		for i := range shape {
			c := kk / dst[i]
			kk %= dst[i]
			p += c * src[perm[i]]
		}
		return int(p)
	}), nil
}
