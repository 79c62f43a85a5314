package tflite

import (
	"fmt"
	"math"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// spatial is the geometry of one spatial axis of a convolution or pool.
type spatial struct {
	in, k, stride, dil, padBefore, padAfter int64
	ceil                                    bool
}

// out is the ONNX output size of the axis.
func (s spatial) out() int64 {
	eff := (s.k-1)*s.dil + 1
	num := s.in + s.padBefore + s.padAfter - eff
	if s.ceil {
		o := (num+s.stride-1)/s.stride + 1
		// The last window must start inside the input or the left pad.
		if (o-1)*s.stride >= s.in+s.padBefore {
			o--
		}
		return o
	}
	return num/s.stride + 1
}

// usedAfter is how much of the end padding the last window reads.
func (s spatial) usedAfter() int64 {
	eff := (s.k-1)*s.dil + 1
	return max(0, (s.out()-1)*s.stride+eff-s.in-s.padBefore)
}

// same reports whether TFLite's SAME padding reproduces the axis.
func (s spatial) same() bool {
	eff := (s.k-1)*s.dil + 1
	o := (s.in + s.stride - 1) / s.stride
	total := max((o-1)*s.stride+eff-s.in, 0)
	return o == s.out() && s.padBefore == total/2 && s.usedAfter() == total-total/2
}

// valid reports whether TFLite's VALID padding reproduces the axis.
func (s spatial) valid() bool { return s.padBefore == 0 && s.usedAfter() == 0 }

// geometry reads kernel, strides, dilations and pads of a 2-D conv or pool
// over an input of spatial size h, w.
func geometry(n *onnxpb.NodeProto, h, w, kh, kw int64, pool bool) ([2]spatial, error) {
	strides := attrInts(n, "strides", []int64{1, 1})
	dil := attrInts(n, "dilations", []int64{1, 1})
	pads := attrInts(n, "pads", []int64{0, 0, 0, 0})
	// A 1-D kernel (h = kh = 1) is the 2-D one with a trivial H axis.
	if h == 1 && kh == 1 {
		if len(strides) == 1 {
			strides = []int64{1, strides[0]}
		}
		if len(dil) == 1 {
			dil = []int64{1, dil[0]}
		}
		if len(pads) == 2 {
			pads = []int64{0, pads[0], 0, pads[1]}
		}
	}
	if len(strides) != 2 || len(dil) != 2 || len(pads) != 4 {
		return [2]spatial{}, fmt.Errorf("only 2-D kernels are exported (strides %v, dilations %v, pads %v)", strides, dil, pads)
	}
	ceil := pool && attrInt(n, "ceil_mode", 0) != 0
	ax := [2]spatial{
		{in: h, k: kh, stride: strides[0], dil: dil[0], padBefore: pads[0], padAfter: pads[2], ceil: ceil},
		{in: w, k: kw, stride: strides[1], dil: dil[1], padBefore: pads[1], padAfter: pads[3], ceil: ceil},
	}
	switch ap := attrString(n, "auto_pad", "NOTSET"); ap {
	case "NOTSET", "":
	case "VALID":
		for i := range ax {
			ax[i].padBefore, ax[i].padAfter = 0, 0
		}
	case "SAME_UPPER", "SAME_LOWER":
		for i := range ax {
			a := &ax[i]
			eff := (a.k-1)*a.dil + 1
			o := (a.in + a.stride - 1) / a.stride
			total := max((o-1)*a.stride+eff-a.in, 0)
			a.padBefore, a.padAfter = total/2, total-total/2
			if ap == "SAME_LOWER" {
				a.padBefore, a.padAfter = a.padAfter, a.padBefore
			}
		}
	default:
		return ax, fmt.Errorf("auto_pad %q", ap)
	}
	for _, a := range ax {
		if a.stride < 1 || a.dil < 1 || a.k < 1 || a.out() < 1 {
			return ax, fmt.Errorf("bad geometry %+v", a)
		}
	}
	return ax, nil
}

// padding picks SAME or VALID, inserting an explicit PAD (or PADV2 with
// padValue, when padValue is not the zero point) when neither matches the
// ONNX pads. It returns the tensor the operator reads.
func (c *converter) padding(n *onnxpb.NodeProto, x *value, ax [2]spatial, padValue *int64) (int, Padding) {
	if ax[0].valid() && ax[1].valid() {
		return x.tensor, PaddingValid
	}
	if ax[0].same() && ax[1].same() {
		return x.tensor, PaddingSame
	}
	src := c.out.Tensors[x.tensor]
	pads := []int64{0, 0, ax[0].padBefore, ax[0].usedAfter(), ax[1].padBefore, ax[1].usedAfter(), 0, 0}
	shape := append([]int32(nil), src.Shape...)
	shape[1] += int32(pads[2] + pads[3])
	shape[2] += int32(pads[4] + pads[5])
	padded := c.addTensor(&Tensor{Name: n.GetName() + "_padded", Type: src.Type, Shape: shape, Quant: src.Quant})
	pt := c.int32Const(n.GetName()+"_paddings", []int32{4, 2}, pads)
	if padValue != nil && src.Quant != nil && *padValue != src.Quant.ZeroPoint[0] {
		cv := c.constTensor(n.GetName()+"_pad_value", src.Type, []int32{1}, []int64{*padValue}, src.Quant)
		c.addOp(OpPadV2, []int{x.tensor, pt, cv}, []int{padded}, newOptions(OptPadV2))
	} else {
		c.addOp(OpPad, []int{x.tensor, pt}, []int{padded}, newOptions(OptPad))
	}
	return padded, PaddingValid
}

// conv maps Conv to CONV_2D (group 1) or DEPTHWISE_CONV_2D (one group per
// input channel), with OHWI or [1, kh, kw, C·M] int8 weights. Other groups
// become a SPLIT of the input channels, one CONV_2D per group and a
// CONCATENATION of their outputs (the groups share the output qparams, so
// the concatenation copies bytes). A 1-D Conv over [N, C, L] runs as the 2-D
// one over [N, 1, L, C] (NHWC with H = 1), between RESHAPE/TRANSPOSE back to
// the ONNX order, which is what the tensors after it keep.
func (c *converter) conv(n *onnxpb.NodeProto) error {
	x, err := c.in(n.Input[0])
	if err != nil {
		return err
	}
	w, err := c.constOf(n.Input[1])
	if err != nil {
		return fmt.Errorf("weights: %w", err)
	}
	oneD := len(x.shape) == 3 && len(w.dims) == 3
	if oneD {
		if x, err = c.asRowImage(n, x); err != nil {
			return err
		}
		w2 := *w
		w2.dims = []int64{w.dims[0], w.dims[1], 1, w.dims[2]}
		w = &w2
	}
	if len(x.shape) != 4 || !x.nhwc {
		return fmt.Errorf("only 1-D and 2-D convolutions over NCL/NCHW inputs are exported (input shape %v)", x.shape)
	}
	if len(w.dims) != 4 || w.dtype != Int8 {
		return fmt.Errorf("weights %q: want 4-D int8, have %v %s", w.name, w.dims, w.dtype)
	}
	if err := symmetric(w); err != nil {
		return err
	}
	group := attrInt(n, "group", 1)
	cin, cout, kh, kw := x.shape[1], w.dims[0], w.dims[2], w.dims[3]
	depthwise := group > 1 && group == cin && w.dims[1] == 1
	if group < 1 || cin%group != 0 || cout%group != 0 || w.dims[1] != cin/group {
		return fmt.Errorf("weights %v do not match %d input channels in %d groups", w.dims, cin, group)
	}
	ax, err := geometry(n, x.shape[2], x.shape[3], kh, kw, false)
	if err != nil {
		return err
	}
	t, err := c.target(n.Output[0], true)
	if err != nil {
		return err
	}
	src, pad := c.padding(n, x, ax, nil)
	in := c.out.Tensors[x.tensor]
	bias, err := c.biasValues(n, 2, in, w, cout)
	if err != nil {
		return err
	}
	oshape := []int64{x.shape[0], cout, ax[0].out(), ax[1].out()}
	var out int
	if oneD {
		// The 2-D result in NHWC, turned back into ONNX's [N, C, L] below.
		v := &value{shape: oshape, nhwc: true}
		out = c.addTensor(&Tensor{Name: n.GetName() + "_as_2d", Type: t.typ, Shape: v.tflShape(), Quant: t.qnt})
	} else {
		out, _ = c.emitOut(t, oshape, true)
	}
	switch {
	case depthwise || group == 1:
		wt := c.convWeights(w, 0, cout, depthwise)
		bt := c.constTensor(bias.name, bias.typ, []int32{int32(cout)}, bias.vals, bias.quant)
		c.convOp(src, wt, bt, out, pad, ax, t.act, depthwise, cout/cin)
	default:
		// Grouped: split the (padded) input channels, one CONV_2D per
		// group into the output qparams, concatenate along channels.
		g := int(group)
		srcT := c.out.Tensors[src]
		parts := make([]int, g)
		outs := make([]int, g)
		ci, co := cin/group, cout/group
		for i := range parts {
			shape := append([]int32(nil), srcT.Shape...)
			shape[3] = int32(ci)
			parts[i] = c.addTensor(&Tensor{Name: fmt.Sprintf("%s_group%d_in", n.GetName(), i), Type: srcT.Type, Shape: shape, Quant: srcT.Quant})
			oshape := append([]int32(nil), c.out.Tensors[out].Shape...)
			oshape[3] = int32(co)
			outs[i] = c.addTensor(&Tensor{Name: fmt.Sprintf("%s_group%d_out", n.GetName(), i), Type: t.typ, Shape: oshape, Quant: t.qnt})
		}
		at := c.int32Const(n.GetName()+"_split_axis", []int32{}, []int64{3})
		c.addOp(OpSplit, []int{at, src}, parts, newOptions(OptSplit, int64(g)))
		for i := range parts {
			lo, hi := int64(i)*co, int64(i+1)*co
			wt := c.convWeights(w, lo, hi, false)
			bq := bias.quant
			if len(bq.Scale) > 1 {
				bq = &Quant{Scale: bq.Scale[lo:hi], ZeroPoint: bq.ZeroPoint[lo:hi]}
			}
			bt := c.constTensor(fmt.Sprintf("%s_group%d", bias.name, i), bias.typ, []int32{int32(co)}, bias.vals[lo:hi], bq)
			c.convOp(parts[i], wt, bt, outs[i], pad, ax, t.act, false, 1)
		}
		c.addOp(OpConcatenation, outs, []int{out}, newOptions(OptConcatenation, 3, 0))
	}
	if oneD {
		c.fromRowImage(n, out, t, []int64{x.shape[0], cout, ax[1].out()})
	}
	return nil
}

// convOp emits CONV_2D or DEPTHWISE_CONV_2D.
func (c *converter) convOp(src, wt, bt, out int, pad Padding, ax [2]spatial, act Activation, depthwise bool, mult int64) {
	if depthwise {
		c.addOp(OpDepthwiseConv2D, []int{src, wt, bt}, []int{out},
			newOptions(OptDepthwiseConv2D, int64(pad), ax[1].stride, ax[0].stride, mult, int64(act), ax[1].dil, ax[0].dil))
		return
	}
	c.addOp(OpConv2D, []int{src, wt, bt}, []int{out},
		newOptions(OptConv2D, int64(pad), ax[1].stride, ax[0].stride, int64(act), ax[1].dil, ax[0].dil))
}

// convWeights lays out output channels [lo, hi) of an OIHW weight as
// CONV_2D's OHWI (per-channel axis 0) or DEPTHWISE's [1, kh, kw, O] (axis 3).
func (c *converter) convWeights(w *qconst, lo, hi int64, depthwise bool) int {
	ci, kh, kw := w.dims[1], w.dims[2], w.dims[3]
	cout := hi - lo
	wv := make([]int64, cout*ci*kh*kw)
	for o := int64(0); o < cout; o++ {
		for i := int64(0); i < ci; i++ {
			for y := int64(0); y < kh; y++ {
				for xx := int64(0); xx < kw; xx++ {
					v := w.vals[(((lo+o)*ci+i)*kh+y)*kw+xx]
					if depthwise {
						wv[(y*kw+xx)*cout+o] = v
					} else {
						wv[((o*kh+y)*kw+xx)*ci+i] = v
					}
				}
			}
		}
	}
	wshape, qaxis := []int32{int32(cout), int32(kh), int32(kw), int32(ci)}, int32(0)
	if depthwise {
		wshape, qaxis = []int32{1, int32(kh), int32(kw), int32(cout)}, 3
	}
	wq := &Quant{Scale: w.scale, ZeroPoint: make([]int64, len(w.scale))}
	if len(w.scale) > 1 {
		wq = &Quant{Scale: w.scale[lo:hi], ZeroPoint: make([]int64, cout), Axis: qaxis}
	}
	name := w.name
	if cout != w.dims[0] {
		name = fmt.Sprintf("%s_%d_%d", w.name, lo, hi)
	}
	return c.constTensor(name, Int8, wshape, wv, wq)
}

// asRowImage views a rank-3 [N, C, L] activation (ONNX order) as the NHWC
// tensor [N, 1, L, C] of a 2-D convolution: a RESHAPE when C or L is 1
// (the order is the same), else a TRANSPOSE. The value it returns has the
// NCHW shape [N, C, 1, L].
func (c *converter) asRowImage(n *onnxpb.NodeProto, x *value) (*value, error) {
	if x.flatOrder != nil || (x.nhwc && len(x.shape) != 3) {
		return nil, fmt.Errorf("1-D convolution input %v in an unexpected layout", x.shape)
	}
	nb, ch, l := x.shape[0], x.shape[1], x.shape[2]
	src := c.out.Tensors[x.tensor]
	v := &value{shape: []int64{nb, ch, 1, l}, nhwc: true}
	from := x.tensor
	if ch != 1 && l != 1 && !x.nhwc { // a channels-last [N, L, C] needs only the RESHAPE
		tr := c.addTensor(&Tensor{Name: n.GetName() + "_nlc", Type: src.Type, Shape: []int32{int32(nb), int32(l), int32(ch)}, Quant: src.Quant})
		pt := c.int32Const(n.GetName()+"_nlc_perm", []int32{3}, []int64{0, 2, 1})
		c.addOp(OpTranspose, []int{from, pt}, []int{tr}, newOptions(OptTranspose))
		from = tr
	}
	v.tensor = c.addTensor(&Tensor{Name: n.GetName() + "_row_image", Type: src.Type, Shape: v.tflShape(), Quant: src.Quant})
	c.addOp(OpReshape, []int{from, c.int32Const(n.GetName()+"_row_shape", []int32{4}, []int64{nb, 1, l, ch})}, []int{v.tensor},
		&Options{Type: OptReshape, Vectors: map[int][]int32{0: v.tflShape()}})
	return v, nil
}

// fromRowImage turns a 1-D convolution's NHWC result [N, 1, L, C] back into
// ONNX's [N, C, L] as the node's output.
func (c *converter) fromRowImage(n *onnxpb.NodeProto, src int, t *outTarget, oshape []int64) {
	nb, ch, l := oshape[0], oshape[1], oshape[2]
	out, _ := c.emitOut(t, oshape, false)
	if ch == 1 || l == 1 {
		c.addOp(OpReshape, []int{src, c.int32Const(n.GetName()+"_ncl_shape", []int32{3}, oshape)}, []int{out},
			&Options{Type: OptReshape, Vectors: map[int][]int32{0: toInt32s(oshape)}})
		return
	}
	mid := c.addTensor(&Tensor{Name: n.GetName() + "_nlc_out", Type: t.typ, Shape: []int32{int32(nb), int32(l), int32(ch)}, Quant: t.qnt})
	c.addOp(OpReshape, []int{src, c.int32Const(n.GetName()+"_nlc_shape", []int32{3}, []int64{nb, l, ch})}, []int{mid},
		&Options{Type: OptReshape, Vectors: map[int][]int32{0: {int32(nb), int32(l), int32(ch)}}})
	pt := c.int32Const(n.GetName()+"_ncl_perm", []int32{3}, []int64{0, 2, 1})
	c.addOp(OpTranspose, []int{mid, pt}, []int{out}, newOptions(OptTranspose))
}

// symmetric checks that a weight has zero points 0, as Vela requires.
func symmetric(w *qconst) error {
	for _, z := range w.zp {
		if z != 0 {
			return fmt.Errorf("weights %q have zero point %d; Vela needs symmetric (zero point 0) weights", w.name, z)
		}
	}
	return nil
}

// bias builds the int32 (int8 activations) or int64 (16x8) bias of a
// conv-like operator from input idx of n, or zeros when absent. Its scale
// must be input scale × weight scale, which is what TFLite assumes.
func (c *converter) bias(n *onnxpb.NodeProto, idx int, in *Tensor, w *qconst, cout int64) (int, error) {
	b, err := c.biasValues(n, idx, in, w, cout)
	if err != nil {
		return 0, err
	}
	return c.constTensor(b.name, b.typ, []int32{int32(cout)}, b.vals, b.quant), nil
}

// biasData is a conv-like operator's bias before it becomes a tensor.
type biasData struct {
	name  string
	typ   TensorType
	vals  []int64
	quant *Quant
}

// biasValues reads the bias of bias (see there).
func (c *converter) biasValues(n *onnxpb.NodeProto, idx int, in *Tensor, w *qconst, cout int64) (*biasData, error) {
	btype := Int32
	if in.Type == Int16 {
		btype = Int64
	}
	sIn := float64(in.Quant.Scale[0])
	want := make([]float32, cout)
	for o := range want {
		ws := w.scale[0]
		if len(w.scale) > 1 {
			ws = w.scale[o]
		}
		want[o] = float32(sIn * float64(ws))
	}
	vals := make([]int64, cout)
	name := n.GetName() + "_bias"
	if idx >= 0 && len(n.Input) > idx && n.Input[idx] != "" {
		b, err := c.constOf(n.Input[idx])
		if err != nil {
			return nil, fmt.Errorf("bias: %w", err)
		}
		if int64(len(b.vals)) != cout {
			return nil, fmt.Errorf("bias %q has %d values for %d output channels", b.name, len(b.vals), cout)
		}
		for o := range vals {
			s := b.scale[0]
			if len(b.scale) > 1 {
				s = b.scale[o]
			}
			if d := math.Abs(float64(s)-float64(want[o])) / float64(want[o]); d > 1e-4 {
				return nil, fmt.Errorf("bias %q channel %d has scale %g; TFLite needs input scale × weight scale = %g", b.name, o, s, want[o])
			}
			zp := b.zp[0]
			if len(b.zp) > 1 {
				zp = b.zp[o]
			}
			vals[o] = b.vals[o] - zp
		}
		name = b.name
	}
	// One bias scale per weight scale: per-tensor weights get a
	// per-tensor bias (Arm NN and TFLite Micro check that they match).
	q := &Quant{Scale: want, ZeroPoint: make([]int64, cout)}
	if cout == 1 || len(w.scale) == 1 {
		q.Scale, q.ZeroPoint = want[:1], q.ZeroPoint[:1]
	}
	return &biasData{name, btype, vals, q}, nil
}

// fullyConnected emits FULLY_CONNECTED for x · Wᵀ + b, with w already in
// [out, in] order (per-channel axis 0).
func (c *converter) fullyConnected(n *onnxpb.NodeProto, x *value, w *qconst, wv []int64, out, k int64, biasIdx int) error {
	if err := symmetric(w); err != nil {
		return err
	}
	if x.flatOrder != nil {
		// The input was flattened in NHWC order: permute the weight
		// columns to match instead of transposing the activations.
		perm := make([]int64, len(wv))
		for o := int64(0); o < out; o++ {
			for j := int64(0); j < k; j++ {
				perm[o*k+j] = wv[o*k+int64(x.flatOrder[j])]
			}
		}
		wv = perm
	}
	t, err := c.target(n.Output[0], true)
	if err != nil {
		return err
	}
	in := c.out.Tensors[x.tensor]
	wq := &Quant{Scale: w.scale, ZeroPoint: make([]int64, len(w.scale))}
	wt := c.constTensor(w.name, Int8, []int32{int32(out), int32(k)}, wv, wq)
	bt, err := c.bias(n, biasIdx, in, w, out)
	if err != nil {
		return err
	}
	oshape := append(append([]int64(nil), x.shape[:len(x.shape)-1]...), out)
	ot, _ := c.emitOut(t, oshape, false)
	keep := int64(0)
	if len(oshape) > 2 {
		keep = 1
	}
	c.addOp(OpFullyConnected, []int{x.tensor, wt, bt}, []int{ot}, newOptions(OptFullyConnected, int64(t.act), 0, keep))
	return nil
}

// gemm maps Gemm (alpha = beta = 1) with constant B to FULLY_CONNECTED.
func (c *converter) gemm(n *onnxpb.NodeProto) error {
	if attrFloat(n, "alpha", 1) != 1 || attrFloat(n, "beta", 1) != 1 || attrInt(n, "transA", 0) != 0 {
		return fmt.Errorf("%w: Gemm with alpha/beta ≠ 1 or transA", ErrUnsupported)
	}
	x, ok := c.vals[n.Input[0]]
	if !ok {
		return fmt.Errorf("input %q is not a quantized activation", n.Input[0])
	}
	if len(x.shape) != 2 {
		return fmt.Errorf("Gemm input of rank %d", len(x.shape))
	}
	w, err := c.constOf(n.Input[1])
	if err != nil {
		return fmt.Errorf("%w: B is not a constant (%v)", ErrUnsupported, err)
	}
	if len(w.dims) != 2 || w.dtype != Int8 {
		return fmt.Errorf("weights %q: want 2-D int8, have %v %s", w.name, w.dims, w.dtype)
	}
	if attrInt(n, "transB", 0) != 0 {
		return c.fullyConnected(n, x, w, w.vals, w.dims[0], w.dims[1], 2)
	}
	return c.fullyConnectedKN(n, x, w, 2)
}

// fullyConnectedKN handles a [K, N] weight (per-channel axis 1).
func (c *converter) fullyConnectedKN(n *onnxpb.NodeProto, x *value, w *qconst, biasIdx int) error {
	k, out := w.dims[0], w.dims[1]
	if len(w.scale) > 1 && w.axis != 1 {
		return fmt.Errorf("weights %q quantized along axis %d, not the output axis", w.name, w.axis)
	}
	wv := make([]int64, len(w.vals))
	for i := int64(0); i < k; i++ {
		for o := int64(0); o < out; o++ {
			wv[o*k+i] = w.vals[i*out+o]
		}
	}
	return c.fullyConnected(n, x, w, wv, out, k, biasIdx)
}

// matmul maps MatMul with a constant 2-D right operand to FULLY_CONNECTED
// (keep_num_dims for rank > 2) and activation × activation to
// BATCH_MATMUL.
func (c *converter) matmul(n *onnxpb.NodeProto) error {
	x, err := c.in(n.Input[0])
	if err != nil {
		return err
	}
	if c.isConstOperand(n.Input[1]) {
		w, err := c.constOf(n.Input[1])
		if err != nil {
			return err
		}
		if len(w.dims) != 2 || w.dtype != Int8 {
			return fmt.Errorf("%w: MatMul weights %v %s (want 2-D int8)", ErrUnsupported, w.dims, w.dtype)
		}
		if x.nhwc {
			return fmt.Errorf("MatMul on an NHWC activation")
		}
		return c.fullyConnectedKN(n, x, w, -1)
	}
	y, err := c.in(n.Input[1])
	if err != nil {
		return err
	}
	if x.nhwc || y.nhwc || len(x.shape) < 2 || len(x.shape) != len(y.shape) {
		return fmt.Errorf("%w: MatMul of shapes %v and %v", ErrUnsupported, x.shape, y.shape)
	}
	t, err := c.target(n.Output[0], false)
	if err != nil {
		return err
	}
	r := len(x.shape)
	oshape := append(append([]int64(nil), x.shape[:r-1]...), y.shape[r-1])
	for i := 0; i < r-2; i++ {
		oshape[i] = max(x.shape[i], y.shape[i])
	}
	out, _ := c.emitOut(t, oshape, false)
	c.addOp(OpBatchMatMul, []int{x.tensor, y.tensor}, []int{out}, newOptions(OptBatchMatMul, 0, 0, 0))
	return nil
}

// pool maps MaxPool and AveragePool to MAX_POOL_2D and AVERAGE_POOL_2D.
func (c *converter) pool(n *onnxpb.NodeProto) error {
	x, err := c.in(n.Input[0])
	if err != nil {
		return err
	}
	if len(x.shape) != 4 || !x.nhwc {
		return fmt.Errorf("only 2-D pooling over NCHW inputs is exported (input %v)", x.shape)
	}
	if len(n.Output) > 1 && n.Output[1] != "" {
		return fmt.Errorf("%w: MaxPool indices output", ErrUnsupported)
	}
	k := attrInts(n, "kernel_shape", nil)
	if len(k) != 2 {
		return fmt.Errorf("kernel_shape %v: only 2-D pooling", k)
	}
	ax, err := geometry(n, x.shape[2], x.shape[3], k[0], k[1], true)
	if err != nil {
		return err
	}
	if ax[0].dil != 1 || ax[1].dil != 1 {
		return fmt.Errorf("%w: dilated pooling", ErrUnsupported)
	}
	t, err := c.target(n.Output[0], true)
	if err != nil {
		return err
	}
	in := c.out.Tensors[x.tensor]
	op := OpMaxPool2D
	var padValue *int64
	if n.GetOpType() == "AveragePool" {
		op = OpAveragePool2D
		if !(ax[0].valid() && ax[1].valid()) {
			// TFLite averages over the valid part of the window only, ONNX
			// divides by the whole window unless count_include_pad = 0.
			if attrInt(n, "count_include_pad", 0) != 0 || !(ax[0].same() && ax[1].same()) {
				return fmt.Errorf("%w: AveragePool padding that TFLite's SAME/VALID does not reproduce", ErrUnsupported)
			}
		}
		if !sameQuant(in.Quant, t.qnt) {
			return fmt.Errorf("%w: AveragePool with different input and output qparams", ErrUnsupported)
		}
	} else {
		lo, _ := typeRange(in.Type)
		padValue = &lo // padding must never win the maximum
	}
	src, pad := c.padding(n, x, ax, padValue)
	out, _ := c.emitOut(t, []int64{x.shape[0], x.shape[1], ax[0].out(), ax[1].out()}, true)
	c.addOp(op, []int{src}, []int{out}, newOptions(OptPool2D, int64(pad), ax[1].stride, ax[0].stride, ax[1].k, ax[0].k, int64(t.act)))
	return nil
}

// globalAveragePool maps GlobalAveragePool to MEAN over H and W (which,
// unlike AVERAGE_POOL_2D, may change the scale).
func (c *converter) globalAveragePool(n *onnxpb.NodeProto) error {
	x, err := c.in(n.Input[0])
	if err != nil {
		return err
	}
	if len(x.shape) != 4 || !x.nhwc {
		return fmt.Errorf("input shape %v: want NCHW", x.shape)
	}
	t, err := c.target(n.Output[0], false)
	if err != nil {
		return err
	}
	axes := c.int32Const(n.GetName()+"_axes", []int32{2}, []int64{1, 2})
	out, _ := c.emitOut(t, []int64{x.shape[0], x.shape[1], 1, 1}, true)
	c.addOp(OpMean, []int{x.tensor, axes}, []int{out}, newOptions(OptReducer, 1))
	return nil
}

func sameQuant(a, b *Quant) bool {
	if a == nil || b == nil || len(a.Scale) != len(b.Scale) {
		return a == b
	}
	for i := range a.Scale {
		if a.Scale[i] != b.Scale[i] || a.ZeroPoint[i] != b.ZeroPoint[i] {
			return false
		}
	}
	return true
}
