package tflite

import (
	"fmt"
	"math"
	"strings"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// reciprocal maps a lone Reciprocal (one not folded into SOFTMAX or
// Sqrt→Reciprocal's RSQRT).
//
// Ethos-U85 runs DIV on the NPU: 1/x is DIV(1, MAXIMUM(x, one input step)),
// from and to the quantizer's grids. The MAXIMUM keeps DIV's divisor off 0
// (TFLite's DIV fails on a zero divisor): an input of 0, +∞ in ONNX and the
// output grid's top in the QDQ model, becomes 1/step, which is above the
// output grid whenever that grid was calibrated on finite data; an int16
// grid is symmetric whatever the data, and a negative input there is taken
// as one step too.
//
// Ethos-U55/U65 have no DIV. From an int8 input, 1/x = RSQRT(x)² at 16
// bits: the input is QUANTIZEd to int16 at scale sx/k, k the largest
// integer that keeps the int8 grid in range (each int8 value lands exactly
// on a multiple of k), r = RSQRT on int16's symmetric grid reaching √ymax
// (ymax the top of the output grid: where 1/x is above it r saturates, and
// r² with it, as the QDQ model does), and MUL(r, r) on int16 over [0, ymax]
// QUANTIZEd to the output. r's grid costs at most ymax/32767 (an int16 step
// of the output, 1/128 of an int8 one); TFLite's and Vela's int16 RSQRT is
// a 513-entry table interpolated over 128 input steps, which near the
// smallest inputs (1/√x bends most there) is off by up to 1% (2 output
// steps measured). From an int16 input the same table is off by hundreds of
// output steps near 0 (the int16 input's small values fall inside the
// table's first segments), so an int16 Reciprocal is refused on U55/U65.
func (c *converter) reciprocal(n *onnxpb.NodeProto) error {
	x, t, err := c.unaryIO(n)
	if err != nil {
		return err
	}
	in := c.out.Tensors[x.tensor]
	if (in.Type != Int8 && in.Type != Int16) || (t.typ != Int8 && t.typ != Int16) {
		return fmt.Errorf("%w: Reciprocal from %s to %s activations (int8 and int16 are mapped)", ErrUnsupported, in.Type, t.typ)
	}
	qmin, qmax := typeRange(in.Type)
	sx, zx := float64(in.Quant.Scale[0]), in.Quant.ZeroPoint[0]
	if in.Type == Int8 && float64(qmin-zx)*sx < -sx/2 {
		return fmt.Errorf("%w: Reciprocal of an input whose range %g..%g reaches below 0 (1/x across 0 has no bounded-error form on the NPU); "+
			"cut the Reciprocal to the host", ErrUnsupported, float32(float64(qmin-zx)*sx), float32(float64(qmax-zx)*sx))
	}
	oqmin, oqmax := typeRange(t.typ)
	so, zo := float64(t.qnt.Scale[0]), t.qnt.ZeroPoint[0]
	ymax := float64(oqmax-zo) * so
	if ymax <= 0 {
		return fmt.Errorf("%w: Reciprocal into an output grid %g..%g with no positive value", ErrUnsupported, float32(float64(oqmin-zo)*so), float32(ymax))
	}
	name := n.GetName()
	if strings.HasPrefix(c.opts.Target, "ethos-u85") && in.Type == t.typ {
		one := c.scalarOperand(name+"_one", in.Type, len(in.Shape), 1)
		step := c.constTensor(name+"_step", in.Type, []int32{1}, []int64{zx + 1}, in.Quant)
		pos := c.addTensor(&Tensor{Name: name + "_divisor", Type: in.Type, Shape: in.Shape, Quant: in.Quant})
		c.addOp(OpMaximum, []int{x.tensor, step}, []int{pos}, newOptions(OptMaximumMinimum))
		out, _ := c.emitOut(t, x.shape, x.nhwc)
		c.addOp(OpDiv, []int{one, pos}, []int{out}, newOptions(OptDiv, 0))
		return nil
	}
	if in.Type != Int8 {
		return fmt.Errorf("%w: a Reciprocal of %s activations on %s (no DIV; TFLite's int16 RSQRT table is too coarse near 0 for 1/x = RSQRT(x)²); "+
			"quantize this Reciprocal at 8 bits (a config entry node_name: {%s: int8}), target Ethos-U85 (DIV), or cut it to the host",
			ErrUnsupported, in.Type, c.opts.Target, name)
	}
	tensor := func(suffix string, q *Quant) int {
		return c.addTensor(&Tensor{Name: name + suffix, Type: Int16, Shape: in.Shape, Quant: q})
	}
	k := math.Floor(32767 / float64(max(zx-qmin, qmax-zx)))
	x16 := tensor("_x16", &Quant{Scale: []float32{float32(sx / k)}, ZeroPoint: []int64{0}})
	c.addOp(OpQuantize, []int{x.tensor}, []int{x16}, newOptions(OptQuantize))
	r := tensor("_rsqrt16", symGrid(Int16, math.Sqrt(ymax)))
	c.addOp(OpRsqrt, []int{x16}, []int{r}, nil)
	y16 := t.qnt
	if t.typ != Int16 {
		y16 = symGrid(Int16, ymax)
	}
	c.emitVia(t, x, name+"_recip16", y16, OpMul, []int{r, r}, newOptions(OptMul, 0))
	return nil
}
