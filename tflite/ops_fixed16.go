package tflite

import "github.com/onnxquant/onnxquant/onnxio/onnxpb"

// logisticViaInt16 writes an int8 LOGISTIC or TANH whose output the
// quantizer put on a grid of its own (1/255 for a sigmoid it observed over
// [0, 1], say) at 16 bits: a QUANTIZE of the int8 input to int16 at 1/128
// of its scale (exact: |q - zero point| ≤ 255 becomes at most 32640), the
// int16 operator onto TFLite's fixed 1/32768 grid, and one QUANTIZE to the
// quantizer's int8 grid.
//
// Why: TFLite fixes the int8 output of LOGISTIC at 1/256 (TANH at 1/128),
// so the 8-bit form rounds twice, onto the fixed grid and then onto the
// quantizer's, where the QDQ model rounds the exact value once. The two
// differ by one step on a fifth to a third of the elements (sigmoid(x)
// ·256 = 95.74 rounds to 96, which lands on 95.63 of the 1/255 grid and
// rounds to 96, where ONNX Runtime rounds 95.37 to 95), and in a network
// of SiLUs each of those steps is amplified by the layers after it. On
// the 1/32768 grid the first rounding moves the value by at most 1/128 of
// an int8 step, so the result is the QDQ model's but for near-ties. Vela
// runs int16 LOGISTIC and TANH on the NPU of every Ethos-U.
func (c *converter) logisticViaInt16(n *onnxpb.NodeProto, op BuiltinOp, x *value, out int) {
	in := c.out.Tensors[x.tensor]
	q16 := &Quant{Scale: []float32{in.Quant.Scale[0] / 128}, ZeroPoint: []int64{0}}
	x16 := c.addTensor(&Tensor{Name: n.GetName() + "_int16_input", Type: Int16, Shape: in.Shape, Quant: q16})
	c.addOp(OpQuantize, []int{x.tensor}, []int{x16}, newOptions(OptQuantize))
	y16 := c.addTensor(&Tensor{Name: n.GetName() + "_int16_fixed_scale", Type: Int16, Shape: c.out.Tensors[out].Shape, Quant: fixedQuant(op, Int16)})
	c.addOp(op, []int{x16}, []int{y16}, nil)
	c.addOp(OpQuantize, []int{y16}, []int{out}, newOptions(OptQuantize))
}
