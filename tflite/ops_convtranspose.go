package tflite

import (
	"fmt"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// convTranspose maps a 2-D ConvTranspose (group 1, no dilation) to
// TRANSPOSE_CONV with [O, kh, kw, I] int8 weights, per-channel along O.
// TFLite places output row i·s + ky − pad_before, as ONNX does with
// pad_before = pads[0]; the padding mode is VALID for no padding and SAME
// when ONNX's pads are the ones TFLite derives from the output size.
func (c *converter) convTranspose(n *onnxpb.NodeProto) error {
	x, err := c.in(n.Input[0])
	if err != nil {
		return err
	}
	if len(x.shape) != 4 || !x.nhwc {
		return fmt.Errorf("only 2-D transposed convolutions over NCHW inputs are exported (input %v)", x.shape)
	}
	w, err := c.constOf(n.Input[1])
	if err != nil {
		return fmt.Errorf("weights: %w", err)
	}
	if len(w.dims) != 4 || w.dtype != Int8 {
		return fmt.Errorf("weights %q: want 4-D int8, have %v %s", w.name, w.dims, w.dtype)
	}
	if err := symmetric(w); err != nil {
		return err
	}
	if g := attrInt(n, "group", 1); g != 1 {
		return fmt.Errorf("%w: grouped ConvTranspose (%d groups)", ErrUnsupported, g)
	}
	for _, d := range attrInts(n, "dilations", []int64{1, 1}) {
		if d != 1 {
			return fmt.Errorf("%w: dilated ConvTranspose", ErrUnsupported)
		}
	}
	if attr(n, "output_shape") != nil || attrString(n, "auto_pad", "NOTSET") != "NOTSET" {
		return fmt.Errorf("%w: ConvTranspose with output_shape or auto_pad (give explicit pads)", ErrUnsupported)
	}
	cin, cout, kh, kw := w.dims[0], w.dims[1], w.dims[2], w.dims[3]
	if cin != x.shape[1] {
		return fmt.Errorf("weights %v do not match %d input channels", w.dims, x.shape[1])
	}
	if len(w.scale) > 1 && w.axis != 1 {
		return fmt.Errorf("weights %q quantized along axis %d, not the output channels (1)", w.name, w.axis)
	}
	strides := attrInts(n, "strides", []int64{1, 1})
	pads := attrInts(n, "pads", []int64{0, 0, 0, 0})
	opad := attrInts(n, "output_padding", []int64{0, 0})
	if len(strides) != 2 || len(pads) != 4 || len(opad) != 2 {
		return fmt.Errorf("only 2-D ConvTranspose (strides %v, pads %v)", strides, pads)
	}
	k := []int64{kh, kw}
	out := make([]int64, 2)
	valid, same := true, true
	for i := 0; i < 2; i++ {
		in := x.shape[2+i]
		out[i] = strides[i]*(in-1) + opad[i] + k[i] - pads[i] - pads[i+2]
		valid = valid && pads[i] == 0 && pads[i+2] == 0 && opad[i] == 0
		total := max((in-1)*strides[i]+k[i]-out[i], 0)
		same = same && out[i] == in*strides[i] && pads[i] == total/2
	}
	var pad Padding
	switch {
	case valid:
		pad = PaddingValid
	case same:
		pad = PaddingSame
	default:
		return fmt.Errorf("%w: ConvTranspose pads %v and output_padding %v match neither TFLite's SAME nor VALID", ErrUnsupported, pads, opad)
	}
	t, err := c.target(n.Output[0], false)
	if err != nil {
		return err
	}
	// [I, O, kh, kw] -> [O, kh, kw, I].
	wv := make([]int64, len(w.vals))
	for i := int64(0); i < cin; i++ {
		for o := int64(0); o < cout; o++ {
			for y := int64(0); y < kh; y++ {
				for xx := int64(0); xx < kw; xx++ {
					wv[((o*kh+y)*kw+xx)*cin+i] = w.vals[((i*cout+o)*kh+y)*kw+xx]
				}
			}
		}
	}
	wq := &Quant{Scale: w.scale, ZeroPoint: make([]int64, len(w.scale))}
	wt := c.constTensor(w.name, Int8, []int32{int32(cout), int32(kh), int32(kw), int32(cin)}, wv, wq)
	in := c.out.Tensors[x.tensor]
	bt, err := c.bias(n, 2, in, w, cout)
	if err != nil {
		return err
	}
	oshape := []int64{x.shape[0], cout, out[0], out[1]}
	ot, v := c.emitOut(t, oshape, true)
	shapeT := c.int32Const(n.GetName()+"_output_shape", []int32{4}, widen(v.tflShape()))
	c.addOp(OpTransposeConv, []int{shapeT, wt, x.tensor, bt}, []int{ot},
		newOptions(OptTransposeConv, int64(pad), strides[1], strides[0], 0))
	return nil
}
