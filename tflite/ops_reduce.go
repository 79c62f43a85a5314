package tflite

import (
	"fmt"
	"math"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// copyLike emits an operator that moves values without rescaling them
// (TFLite's SLICE, REDUCE_MAX, ... keep the input qparams) and adds a
// QUANTIZE to the quantizer's output qparams when they differ.
func (c *converter) copyLike(n *onnxpb.NodeProto, op BuiltinOp, ins []int, t *outTarget, oshape []int64, nhwc bool, opts *Options) {
	out, v := c.emitOut(t, oshape, nhwc)
	src := c.out.Tensors[ins[0]]
	if sameQuant(src.Quant, t.qnt) {
		c.addOp(op, ins, []int{out}, opts)
		return
	}
	mid := c.addTensor(&Tensor{Name: n.GetName() + "_unscaled", Type: src.Type, Shape: v.tflShape(), Quant: src.Quant})
	c.addOp(op, ins, []int{mid}, opts)
	c.addOp(OpQuantize, []int{mid}, []int{out}, newOptions(OptQuantize))
}

// reduceAxes reads a Reduce* node's axes (attribute or, from opset 18 and
// for ReduceSum from 13, the second input) as TFLite axes of x.
func (c *converter) reduceAxes(n *onnxpb.NodeProto, x *value) ([]int64, []int64, error) {
	axes := attrInts(n, "axes", nil)
	if len(n.Input) > 1 && n.Input[1] != "" {
		t, ok := c.consts[n.Input[1]]
		if !ok {
			return nil, nil, fmt.Errorf("%w: computed axes", ErrUnsupported)
		}
		var err error
		if axes, err = intValues(t, c.dir); err != nil {
			return nil, nil, err
		}
	}
	r := len(x.shape)
	if len(axes) == 0 {
		if attrInt(n, "noop_with_empty_axes", 0) != 0 {
			return nil, nil, fmt.Errorf("%w: reduction over no axes", ErrUnsupported)
		}
		for i := 0; i < r; i++ {
			axes = append(axes, int64(i))
		}
	}
	keep := attrInt(n, "keepdims", 1) != 0
	reduced := map[int]bool{}
	var taxes []int64
	for _, a := range axes {
		ax, err := normAxis(a, r)
		if err != nil {
			return nil, nil, err
		}
		reduced[ax] = true
		ta := ax
		if x.nhwc {
			ta = nhwcAxis(ax, r)
		}
		taxes = append(taxes, int64(ta))
	}
	var oshape []int64
	for i, d := range x.shape {
		switch {
		case !reduced[i]:
			oshape = append(oshape, d)
		case keep:
			oshape = append(oshape, 1)
		}
	}
	if x.nhwc && !keep {
		return nil, nil, fmt.Errorf("%w: reducing an NCHW tensor without keepdims", ErrUnsupported)
	}
	return taxes, oshape, nil
}

// reduce maps ReduceMean, ReduceSum and ReduceMax to MEAN, SUM and
// REDUCE_MAX.
func (c *converter) reduce(n *onnxpb.NodeProto) error {
	x, err := c.in(n.Input[0])
	if err != nil {
		return err
	}
	taxes, oshape, err := c.reduceAxes(n, x)
	if err != nil {
		return err
	}
	t, err := c.target(n.Output[0], false)
	if err != nil {
		return err
	}
	keep := attrInt(n, "keepdims", 1)
	axesT := c.int32Const(n.GetName()+"_axes", []int32{int32(len(taxes))}, taxes)
	nhwc := x.nhwc
	switch n.GetOpType() {
	case "ReduceMean", "ReduceSum":
		op := OpMean
		if n.GetOpType() == "ReduceSum" {
			op = OpSum
		}
		out, _ := c.emitOut(t, oshape, nhwc)
		c.addOp(op, []int{x.tensor, axesT}, []int{out}, newOptions(OptReducer, keep))
	case "ReduceMax", "ReduceMin":
		op := OpReduceMax
		if n.GetOpType() == "ReduceMin" {
			op = OpReduceMin
		}
		c.copyLike(n, op, []int{x.tensor, axesT}, t, oshape, nhwc, newOptions(OptReducer, keep))
	}
	return nil
}

// exp maps Exp to EXP and Log to LOG (tables on the NPU).
func (c *converter) exp(n *onnxpb.NodeProto) error {
	x, t, err := c.unaryIO(n)
	if err != nil {
		return err
	}
	op := OpExp
	if n.GetOpType() == "Log" {
		op = OpLog
		// TFLite's int16 LOG table is only accurate over the top eighth of
		// its input grid: log16 splits the range (ops_table16.go).
		if in := c.out.Tensors[x.tensor]; in.Type == Int16 && in.Quant.ZeroPoint[0] == 0 {
			c.log16(n, x, t)
			return nil
		}
	}
	out, _ := c.emitOut(t, x.shape, x.nhwc)
	c.addOp(op, []int{x.tensor}, []int{out}, nil)
	return nil
}

// scalarConst reads a float scalar operand: a plain float constant or a
// dequantized one.
func (c *converter) scalarConst(name string) (float64, error) {
	if t, ok := c.consts[name]; ok {
		v, err := floatValues(t, c.dir)
		if err != nil {
			if iv, ierr := intValues(t, c.dir); ierr == nil && len(iv) == 1 {
				return float64(iv[0]), nil
			}
			return 0, err
		}
		if len(v) != 1 {
			return 0, fmt.Errorf("%q is not a scalar", name)
		}
		return float64(v[0]), nil
	}
	q, err := c.constOf(name)
	if err != nil {
		return 0, err
	}
	if len(q.vals) != 1 {
		return 0, fmt.Errorf("%q is not a scalar", name)
	}
	return float64(q.scale[0]) * float64(q.vals[0]-q.zp[0]), nil
}

// pow maps Pow with a constant exponent: 2 to MUL(x, x), -0.5 to RSQRT, 1
// to a QUANTIZE.
func (c *converter) pow(n *onnxpb.NodeProto) error {
	x, err := c.in(n.Input[0])
	if err != nil {
		return err
	}
	e, err := c.scalarConst(n.Input[1])
	if err != nil {
		return fmt.Errorf("%w: exponent: %v", ErrUnsupported, err)
	}
	t, err := c.target(n.Output[0], false)
	if err != nil {
		return err
	}
	switch {
	case e == 2:
		out, _ := c.emitOut(t, x.shape, x.nhwc)
		c.addOp(OpMul, []int{x.tensor, x.tensor}, []int{out}, newOptions(OptMul, 0))
	case e == -0.5:
		out, _ := c.emitOut(t, x.shape, x.nhwc)
		c.addOp(OpRsqrt, []int{x.tensor}, []int{out}, nil)
	case e == 1:
		out, _ := c.emitOut(t, x.shape, x.nhwc)
		c.addOp(OpQuantize, []int{x.tensor}, []int{out}, newOptions(OptQuantize))
	default:
		return fmt.Errorf("%w: Pow with exponent %g (2, -0.5 and 1 are mapped)", ErrUnsupported, e)
	}
	return nil
}

// sqrt maps Sqrt followed by Reciprocal (how LayerNorm and RMSNorm exports
// divide by a standard deviation) to one RSQRT from the Sqrt's input to the
// Reciprocal's output qparams. A lone Sqrt is loneSqrt's, and so is one whose
// input and the Reciprocal's output differ in type (an int16 variance whose
// Sqrt and Reciprocal run at int8 on Ethos-U85): RSQRT needs one type in and
// out, and the Sqrt and the Reciprocal then run as the QDQ model rounds them,
// each on its own grid.
func (c *converter) sqrt(n *onnxpb.NodeProto) error {
	x, err := c.in(n.Input[0])
	if err != nil {
		return err
	}
	rec := c.followQDQ(n.Output[0], "Reciprocal")
	if rec == nil {
		return c.loneSqrt(n, x)
	}
	t, err := c.target(rec.Output[0], false)
	if err != nil {
		return err
	}
	if c.out.Tensors[x.tensor].Type != t.typ {
		return c.loneSqrt(n, x)
	}
	c.markChain(n.Output[0], rec)
	out, _ := c.emitOut(t, x.shape, x.nhwc)
	c.addOp(OpRsqrt, []int{x.tensor}, []int{out}, nil)
	return nil
}

// followQDQ returns the single op of type op reading out through its
// QuantizeLinear/DequantizeLinear pair (and any requantizing pairs after
// it), or nil.
func (c *converter) followQDQ(out, op string) *onnxpb.NodeProto {
	_, next := c.qdqChain(out)
	if next == nil || next.GetOpType() != op {
		return nil
	}
	return next
}

// qdqChain walks from a float output through Q, DQ (, Q, DQ ...) nodes,
// each with a single consumer, to the next operator.
func (c *converter) qdqChain(out string) ([]*onnxpb.NodeProto, *onnxpb.NodeProto) {
	var chain []*onnxpb.NodeProto
	name := out
	for {
		cons := c.consumers[name]
		if len(cons) != 1 {
			return chain, nil
		}
		n := cons[0]
		switch n.GetOpType() {
		case "QuantizeLinear", "DequantizeLinear":
			chain = append(chain, n)
			name = n.Output[0]
		default:
			if len(chain) < 2 {
				return chain, nil
			}
			return chain, n
		}
	}
}

// markChain marks the Q/DQ nodes after out and the node last as emitted.
func (c *converter) markChain(out string, last *onnxpb.NodeProto) {
	chain, _ := c.qdqChain(out)
	for _, n := range chain {
		c.done[n] = true
	}
	c.done[last] = true
}

// slice maps Slice with constant starts/ends/axes to SLICE (unit steps) or
// STRIDED_SLICE.
func (c *converter) slice(n *onnxpb.NodeProto) error {
	x, err := c.in(n.Input[0])
	if err != nil {
		return err
	}
	r := len(x.shape)
	read := func(i int) ([]int64, error) {
		if len(n.Input) <= i || n.Input[i] == "" {
			return nil, nil
		}
		t, ok := c.consts[n.Input[i]]
		if !ok {
			return nil, fmt.Errorf("%w: Slice input %q is computed", ErrUnsupported, n.Input[i])
		}
		return intValues(t, c.dir)
	}
	starts, err := read(1)
	if err != nil {
		return err
	}
	ends, err := read(2)
	if err != nil {
		return err
	}
	axes, err := read(3)
	if err != nil {
		return err
	}
	steps, err := read(4)
	if err != nil {
		return err
	}
	if len(starts) != len(ends) {
		return fmt.Errorf("%d starts and %d ends", len(starts), len(ends))
	}
	begin := make([]int64, r)
	end := append([]int64(nil), x.shape...)
	stride := make([]int64, r)
	for i := range stride {
		stride[i] = 1
	}
	var reversed []int64 // axes sliced backwards
	for i := range starts {
		ax := i
		if axes != nil {
			if ax, err = normAxis(axes[i], r); err != nil {
				return err
			}
		}
		d := x.shape[ax]
		s, e, st := starts[i], ends[i], int64(1)
		if steps != nil {
			st = steps[i]
		}
		if st == 0 {
			return fmt.Errorf("Slice step 0")
		}
		if st < 0 {
			// Backwards (how reflect padding is decomposed): the forward
			// slice of the same elements, then REVERSE_V2 on the axis.
			if s < 0 {
				s += d
			}
			if e < 0 && e > math.MinInt32 {
				e += d
			}
			s, e = max(0, min(s, d-1)), max(-1, min(e, d-1))
			k := -st
			cnt := max(0, (s-e+k-1)/k)
			begin[ax], end[ax], stride[ax] = s-k*(cnt-1), s+1, k
			if cnt == 0 {
				begin[ax], end[ax] = 0, 0
			}
			reversed = append(reversed, int64(ax))
			continue
		}
		clampIdx := func(v int64) int64 {
			if v < 0 {
				v += d
			}
			return max(0, min(v, d))
		}
		begin[ax], end[ax], stride[ax] = clampIdx(s), clampIdx(e), st
		if e > math.MaxInt32 {
			end[ax] = d
		}
	}
	oshape := make([]int64, r)
	unit := true
	for i := range oshape {
		oshape[i] = max(0, (end[i]-begin[i]+stride[i]-1)/stride[i])
		unit = unit && stride[i] == 1
	}
	perm := func(v []int64) []int64 {
		if !x.nhwc {
			return v
		}
		out := make([]int64, len(v))
		for i, p := range clPerm(len(v)) {
			out[i] = v[p]
		}
		return out
	}
	t, err := c.target(n.Output[0], false)
	if err != nil {
		return err
	}
	bt := c.int32Const(n.GetName()+"_begin", []int32{int32(r)}, perm(begin))
	op, ins, opts := OpSlice, []int{x.tensor, bt, c.int32Const(n.GetName()+"_size", []int32{int32(r)}, perm(oshape))}, newOptions(OptSlice)
	if !unit {
		et := c.int32Const(n.GetName()+"_end", []int32{int32(r)}, perm(end))
		stt := c.int32Const(n.GetName()+"_strides", []int32{int32(r)}, perm(stride))
		op, ins, opts = OpStridedSlice, []int{x.tensor, bt, et, stt}, newOptions(OptStridedSlice)
	}
	if len(reversed) == 0 {
		c.copyLike(n, op, ins, t, oshape, x.nhwc, opts)
		return nil
	}
	src := c.out.Tensors[x.tensor]
	v := &value{shape: oshape, nhwc: x.nhwc}
	mid := c.addTensor(&Tensor{Name: n.GetName() + "_forward", Type: src.Type, Shape: v.tflShape(), Quant: src.Quant})
	c.addOp(op, ins, []int{mid}, opts)
	// Reverse one axis at a time. An axis with nothing but size-1 axes
	// after it (reflect padding's) is a FULLY_CONNECTED over a 2-D view,
	// with the exchange matrix as weights (127 at scale 1/127, exactly 1;
	// output on the input's grid: an exact copy), which Vela runs on every
	// Ethos-U (U55 refuses REVERSE_V2's masks); another axis is a
	// REVERSE_V2 over a 4-D view (U85).
	for k, a := range reversed {
		ta := int(a)
		if x.nhwc {
			ta = nhwcAxis(ta, r)
		}
		src := c.out.Tensors[mid]
		ts := src.Shape
		d := int64(ts[ta])
		outer, inner := int64(1), int64(1)
		for i, dd := range ts {
			if i < ta {
				outer *= int64(dd)
			} else if i > ta {
				inner *= int64(dd)
			}
		}
		reshape := func(from int, shape []int64, suffix string) int {
			to := c.addTensor(&Tensor{Name: fmt.Sprintf("%s_%s%d", n.GetName(), suffix, k), Type: src.Type, Shape: toInt32s(shape), Quant: src.Quant})
			c.addOp(OpReshape, []int{from, c.int32Const(fmt.Sprintf("%s_%s_shape%d", n.GetName(), suffix, k), []int32{int32(len(shape))}, shape)}, []int{to},
				&Options{Type: OptReshape, Vectors: map[int][]int32{0: toInt32s(shape)}})
			return to
		}
		if inner == 1 {
			v2 := reshape(mid, []int64{outer, d}, "reverse_rows")
			wv := make([]int64, d*d)
			for i := int64(0); i < d; i++ {
				wv[i*d+d-1-i] = 127
			}
			wt := c.constTensor(fmt.Sprintf("%s_exchange%d", n.GetName(), k), Int8, []int32{int32(d), int32(d)}, wv, &Quant{Scale: []float32{1.0 / 127}, ZeroPoint: []int64{0}})
			btype := Int32
			if src.Type == Int16 {
				btype = Int64
			}
			bt := c.constTensor(fmt.Sprintf("%s_exchange_bias%d", n.GetName(), k), btype, []int32{int32(d)}, make([]int64, d),
				&Quant{Scale: []float32{src.Quant.Scale[0] / 127}, ZeroPoint: []int64{0}})
			rv := c.addTensor(&Tensor{Name: fmt.Sprintf("%s_reversed%d", n.GetName(), k), Type: src.Type, Shape: []int32{int32(outer), int32(d)}, Quant: src.Quant})
			c.addOp(OpFullyConnected, []int{v2, wt, bt}, []int{rv}, newOptions(OptFullyConnected, 0, 0, 0))
			mid = reshape(rv, widen(ts), "reverse_back")
			continue
		}
		v4 := reshape(mid, []int64{1, outer, d, inner}, "reverse_view")
		rv := c.addTensor(&Tensor{Name: fmt.Sprintf("%s_reversed%d", n.GetName(), k), Type: src.Type, Shape: []int32{1, int32(outer), int32(d), int32(inner)}, Quant: src.Quant})
		c.addOp(OpReverseV2, []int{v4, c.int32Const(fmt.Sprintf("%s_reverse_axis%d", n.GetName(), k), []int32{1}, []int64{2})}, []int{rv}, nil)
		mid = reshape(rv, widen(ts), "reverse_back")
	}
	c.reshapeTo(n, mid, oshape, x.nhwc, t)
	return nil
}

// neg maps Neg to MUL by a constant -1 (held exactly: the type's -qmax at
// scale 1/qmax) into the output's qparams. TFLite's NEG negates the stored
// integers and ignores the qparams, so it is only right when the output
// grid mirrors the input's (same scale, opposite zero point) and the input
// never holds the type's minimum; the quantizer calibrates Neg's output
// on its own (Silero's adaptive normalisation: a Neg of a mean near 0,
// where NEG was 12.5 off), MUL requantizes.
func (c *converter) neg(n *onnxpb.NodeProto) error {
	x, t, err := c.unaryIO(n)
	if err != nil {
		return err
	}
	in := c.out.Tensors[x.tensor]
	minus := c.scalarOperand(n.GetName()+"_minus_one", in.Type, len(in.Shape), -1)
	out, _ := c.emitOut(t, x.shape, x.nhwc)
	c.addOp(OpMul, []int{x.tensor, minus}, []int{out}, newOptions(OptMul, 0))
	return nil
}

// softmaxPattern maps the decomposed softmax that exporters and the
// quantizer's decomposition write — ReduceMax, Sub, Exp, ReduceSum,
// Reciprocal, Mul over the last axis, with Q/DQ pairs between them — to one
// SOFTMAX into the final Mul's qparams; TFLite's kernel computes it in one
// step.
func (c *converter) softmaxPattern(n *onnxpb.NodeProto) (bool, error) {
	x, ok := c.vals[n.Input[0]]
	if !ok || x.nhwc || x.flatOrder != nil {
		return false, nil
	}
	taxes, _, err := c.reduceAxes(n, x)
	if err != nil || len(taxes) != 1 || taxes[0] != int64(len(x.shape)-1) || attrInt(n, "keepdims", 1) == 0 {
		return false, nil
	}
	// only returns the single operator reached from out, of type op.
	var walked []*onnxpb.NodeProto
	only := func(out, op string) *onnxpb.NodeProto {
		qdq, ops := c.reach(out)
		if len(ops) != 1 || ops[0].GetOpType() != op {
			return nil
		}
		walked = append(walked, qdq...)
		return ops[0]
	}
	sub := only(n.Output[0], "Sub")
	if sub == nil || c.origin(sub.Input[0]) != c.origin(n.Input[0]) {
		return false, nil
	}
	exp := only(sub.Output[0], "Exp")
	if exp == nil {
		return false, nil
	}
	qdq, users := c.reach(exp.Output[0])
	if len(users) != 2 {
		return false, nil
	}
	walked = append(walked, qdq...)
	sum, mul := users[0], users[1]
	if sum.GetOpType() != "ReduceSum" {
		sum, mul = mul, sum
	}
	if sum.GetOpType() != "ReduceSum" || mul.GetOpType() != "Mul" {
		return false, nil
	}
	rec := only(sum.Output[0], "Reciprocal")
	if rec == nil || only(rec.Output[0], "Mul") != mul {
		return false, nil
	}
	t, err := c.target(mul.Output[0], false)
	if err != nil {
		return false, err
	}
	for _, d := range append(walked, n, sub, exp, sum, rec, mul) {
		c.done[d] = true
	}
	c.withFixedOutput(mul, OpSoftmax, x, t, &Options{Type: OptSoftmax, Floats: map[int]float32{0: 1}})
	return true, nil
}

// origin walks back from a tensor through QuantizeLinear and
// DequantizeLinear nodes to the float tensor they quantize.
func (c *converter) origin(name string) string {
	for p := c.producer[name]; p != nil; p = c.producer[name] {
		if t := p.GetOpType(); t != "QuantizeLinear" && t != "DequantizeLinear" {
			break
		}
		name = p.Input[0]
	}
	return name
}

// reach walks from a float output through QuantizeLinear and
// DequantizeLinear nodes (branching where they do) and returns those nodes
// and the operators they lead to.
func (c *converter) reach(out string) (qdq, ops []*onnxpb.NodeProto) {
	seen := map[*onnxpb.NodeProto]bool{}
	var walk func(name string)
	walk = func(name string) {
		for _, u := range c.consumers[name] {
			if seen[u] {
				continue
			}
			seen[u] = true
			switch u.GetOpType() {
			case "QuantizeLinear", "DequantizeLinear":
				qdq = append(qdq, u)
				walk(u.Output[0])
			default:
				ops = append(ops, u)
			}
		}
	}
	walk(out)
	return qdq, ops
}

// reduceMax tries the softmax pattern before a plain REDUCE_MAX.
func (c *converter) reduceMax(n *onnxpb.NodeProto) error {
	ok, err := c.softmaxPattern(n)
	if ok || err != nil {
		return err
	}
	return c.reduce(n)
}

// split maps Split to SPLIT_V along the remapped axis; an output whose
// qparams differ from the input's gets a QUANTIZE (SPLIT_V copies bytes).
func (c *converter) split(n *onnxpb.NodeProto) error {
	x, err := c.in(n.Input[0])
	if err != nil {
		return err
	}
	axis, err := normAxis(attrInt(n, "axis", 0), len(x.shape))
	if err != nil {
		return err
	}
	var sizes []int64
	if len(n.Input) > 1 && n.Input[1] != "" {
		t, ok := c.consts[n.Input[1]]
		if !ok {
			return fmt.Errorf("%w: computed split sizes", ErrUnsupported)
		}
		if sizes, err = intValues(t, c.dir); err != nil {
			return err
		}
	} else if s := attrInts(n, "split", nil); s != nil {
		sizes = s
	} else {
		k := int64(len(n.Output))
		d := x.shape[axis]
		per := (d + k - 1) / k
		for i := int64(0); i < k; i++ {
			sizes = append(sizes, min(per, d-i*per))
		}
	}
	if len(sizes) != len(n.Output) {
		return fmt.Errorf("%d split sizes for %d outputs", len(sizes), len(n.Output))
	}
	targets := make([]*outTarget, len(n.Output))
	for i, o := range n.Output {
		if targets[i], err = c.target(o, false); err != nil {
			return err
		}
	}
	taxis := axis
	if x.nhwc {
		taxis = nhwcAxis(axis, len(x.shape))
	}
	src := c.out.Tensors[x.tensor]
	outs := make([]int, len(n.Output))
	var requant [][2]int
	for i, t := range targets {
		shape := append([]int64(nil), x.shape...)
		shape[axis] = sizes[i]
		out, v := c.emitOut(t, shape, x.nhwc)
		outs[i] = out
		if !sameQuant(src.Quant, t.qnt) || src.Type != t.typ {
			mid := c.addTensor(&Tensor{Name: fmt.Sprintf("%s_part%d", n.GetName(), i), Type: src.Type, Shape: v.tflShape(), Quant: src.Quant})
			outs[i] = mid
			requant = append(requant, [2]int{mid, out})
		}
	}
	st := c.int32Const(n.GetName()+"_sizes", []int32{int32(len(sizes))}, sizes)
	at := c.int32Const(n.GetName()+"_axis", []int32{}, []int64{int64(taxis)})
	c.addOp(OpSplitV, []int{x.tensor, st, at}, outs, newOptions(OptSplitV, int64(len(sizes))))
	for _, r := range requant {
		c.addOp(OpQuantize, []int{r[0]}, []int{r[1]}, newOptions(OptQuantize))
	}
	return nil
}

// loneSqrt maps an int8 Sqrt (a magnitude, √(re² + im²)) to x·RSQRT(x),
// computed at 16 bits between two QUANTIZEs: QUANTIZE to int16, RSQRT,
// MUL, QUANTIZE to the Sqrt's int8 qparams (Vela has no SQRT; it runs all
// four on the NPU). The intermediate grids follow one rule from the
// input's and the output's grids: with s the output step, r = 1/√x is kept
// up to 1/√(4s²) = 1/(2s) (below x = 4s², x·r underestimates √x by at most
// s/2; x = 0 gives 0), on int16's symmetric grid; x and x·r take int16
// grids over their int8 ranges. The int16 step of r is then 1/(32767·2s),
// 0.4% of r at the top of an int8 range: under half an output step. An
// int16 Sqrt has no such margin (r would need 16384 times its top value's
// precision): it is sqrt16's five-level product (ops_table16.go).
func (c *converter) loneSqrt(n *onnxpb.NodeProto, x *value) error {
	t, err := c.target(n.Output[0], false)
	if err != nil {
		return err
	}
	in := c.out.Tensors[x.tensor]
	if in.Type == Int16 && in.Quant.ZeroPoint[0] == 0 {
		c.sqrt16(n, x, t)
		return nil
	}
	if in.Type != Int8 || t.typ != Int8 {
		return fmt.Errorf("%w: a lone Sqrt on %s activations (Vela has no SQRT; x·RSQRT(x) is only accurate enough from int8 inputs, computed at 16 bits); "+
			"quantize this Sqrt at 8 bits (a config entry node_name: {%s: int8}) or cut it to the host", ErrUnsupported, in.Type, n.GetName())
	}
	qmin, qmax := typeRange(Int8)
	sx, zx := float64(in.Quant.Scale[0]), in.Quant.ZeroPoint[0]
	xmax := float64(qmax-zx) * sx
	if float64(qmin-zx)*sx < -sx/2 {
		return fmt.Errorf("%w: Sqrt of an input whose range %g..%g reaches below 0", ErrUnsupported, float64(qmin-zx)*sx, xmax)
	}
	so := float64(t.qnt.Scale[0])
	ymax := float64(qmax-t.qnt.ZeroPoint[0]) * so
	_, q16 := typeRange(Int16)
	grid := func(m float64) *Quant {
		return &Quant{Scale: []float32{float32(m / float64(q16))}, ZeroPoint: []int64{0}}
	}
	tensor := func(suffix string, q *Quant) int {
		return c.addTensor(&Tensor{Name: n.GetName() + suffix, Type: Int16, Shape: in.Shape, Quant: q})
	}
	x16 := tensor("_x16", grid(xmax))
	c.addOp(OpQuantize, []int{x.tensor}, []int{x16}, newOptions(OptQuantize))
	r := tensor("_rsqrt16", grid(1/(2*so)))
	c.addOp(OpRsqrt, []int{x16}, []int{r}, nil)
	c.emitVia(t, x, n.GetName()+"_sqrt16", grid(math.Max(ymax, math.Sqrt(xmax))), OpMul, []int{x16, r}, newOptions(OptMul, 0))
	return nil
}
