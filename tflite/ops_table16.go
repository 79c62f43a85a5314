package tflite

import (
	"math"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// log16Levels is how many LOG tables log16 splits an int16 input's range
// over: each covers a factor of 8, the part of its input range where
// TFLite's interpolated int16 table is accurate, and 8^5 = 32768 covers
// the grid from one step to its top.
const log16Levels = 5

// log16 maps an int16 Log. TFLite's (and Vela's) int16 LOG is a 513-entry
// table interpolated over 128 input steps: accurate where the input is in
// the top eighth of its grid, thousands of output steps off in the first
// segments, and finite at 0 where ONNX's log is -∞ (the QDQ model
// saturates it to the output's minimum). So each LOG here only sees the
// top eighth of its input grid. With T the top of the input grid (32767·s):
//
//   - level k = 0..4 reads u_k = x·8^k/T on int16's [0, 1] grid (a MUL by a
//     constant: each input step lands exactly on 8^k output steps; above 1
//     it saturates), raised to at least 1/8 (MAXIMUM), so u_k ∈ [1/8, 1];
//   - l_k = LOG(u_k) on the symmetric grid over ±ln 8;
//   - Σ l_k = log x − log T for x from one input step to T (each level
//     contributes log of x clamped to its factor of 8, relative to its top),
//     so y = log T + l_0 + ... + l_4 (ADDs on the output's grid, or on a
//     grid wide enough for the partial sums);
//   - x ≤ 0 gives log(T/8^5) there, about log(s); where ONNX gives -∞ (and
//     NaN below 0) the QDQ model gives the output's minimum: y is lowered to
//     MINIMUM(y, ymin + x·C) with C·s above the output's span, which is ymin
//     at x ≤ 0 and above ymax from one step up.
//
// Error, in steps g of the sum's grid (the output's when it holds the
// partial sums): five ADDs round by g/2 each (2.5 g), the five l_k by
// ln 8/65534 each (0.4 g on a ±12 output grid), the tables in their top
// eighth by a few 1e-5; a QUANTIZE to a narrower output adds half a step.
// Measured: at most 3 output steps, most elements within 1; x = 0 gives the
// output's minimum, as in the QDQ model.
func (c *converter) log16(n *onnxpb.NodeProto, x *value, t *outTarget) {
	in := c.out.Tensors[x.tensor]
	name := n.GetName()
	r := len(in.Shape)
	T := 32767 * float64(in.Quant.Scale[0])
	_, qmax := typeRange(Int16)
	tensor := func(suffix string, q *Quant) int {
		return c.addTensor(&Tensor{Name: name + suffix, Type: Int16, Shape: in.Shape, Quant: q})
	}
	unit := symGrid(Int16, 1)
	eighth := c.constTensor(name+"_eighth", Int16, []int32{1}, []int64{4096}, unit)
	ln8 := math.Log(8)
	// The partial sums log T + l_0 + ... lie in [log T − 5·ln 8, log T],
	// and y in the output's range: one symmetric grid holds both (the
	// output's own when it does).
	so := float64(t.qnt.Scale[0])
	oqmin, oqmax := typeRange(t.typ)
	ymax := float64(oqmax-t.qnt.ZeroPoint[0]) * so
	ymin := float64(oqmin-t.qnt.ZeroPoint[0]) * so
	sumQ := t.qnt
	if t.typ != Int16 || t.qnt.ZeroPoint[0] != 0 || math.Log(T) > ymax || math.Log(T)-log16Levels*ln8 < ymin {
		m := math.Max(math.Max(math.Abs(math.Log(T)), math.Abs(math.Log(T)-log16Levels*ln8)), math.Max(ymax, -ymin))
		sumQ = symGrid(Int16, m)
	}
	sum := c.scalarOperand(name+"_log_top", Int16, r, math.Log(T))
	for k := 0; k < log16Levels; k++ {
		um := c.topEighthLevel(name, x, k, T, unit, eighth)
		l := tensor(levelName("_log", k), symGrid(Int16, ln8))
		c.addOp(OpLog, []int{um}, []int{l}, nil)
		next := tensor(levelName("_sum", k), sumQ)
		c.addOp(OpAdd, []int{sum, l}, []int{next}, newOptions(OptAdd, 0, 0))
		sum = next
	}
	// The floor: ymin where x ≤ 0, the sum grid's top (≥ any y) from one
	// step up: x·C reaches 2m at one step (C = 2m/s, a rescale of exactly
	// 1: TFLite's int16 MUL overflows on multipliers above 1), and
	// 2m + ymin ≥ m.
	m := float64(sumQ.Scale[0]) * float64(qmax)
	gain := tensor("_zero_test", symGrid(Int16, 2*m))
	c.addOp(OpMul, []int{x.tensor, c.scalarOperand(name+"_zero_gain", Int16, r, 2*m/float64(in.Quant.Scale[0]))}, []int{gain}, newOptions(OptMul, 0))
	floor := tensor("_floor", sumQ)
	minQ := c.constTensor(name+"_ymin", Int16, []int32{1}, []int64{clampQ(math.Round(ymin/float64(sumQ.Scale[0])), Int16)}, sumQ)
	c.addOp(OpAdd, []int{gain, minQ}, []int{floor}, newOptions(OptAdd, 0, 0))
	c.emitVia(t, x, name+"_log16", sumQ, OpMinimum, []int{sum, floor}, newOptions(OptMaximumMinimum))
}

func levelName(prefix string, k int) string { return prefix + string(rune('0'+k)) }

// sqrt16 maps an int16 Sqrt the way log16 maps Log, multiplicatively: with
// u_k = x·8^k/T clamped to [1/8, 1] as there, the factors √u_k =
// u_k·RSQRT(u_k) (RSQRT's input in the top eighth of its grid, its output
// on [0, √8]) multiply to √(x/T) for x from one input step to T (the
// clamps telescope as log16's logs do), so √x = √T·Π√u_k: four MULs of the
// factors on int16's [0, 1] grid, the last by √T into the output's grid.
// At x = 0 the product would be √(T/32768), about √s: a MINIMUM with x·C
// (a MUL with a fused RELU, C·s the output's top, a rescale of exactly 1)
// gives 0 there, as ONNX does, and 0 below 0 too (NaN in ONNX), and
// changes nothing from one step up. x·RSQRT(x) on the input itself (what
// the int8 Sqrt does) would need r over a range 181 times wider than √x's
// at int16, and the RSQRT table is off near 0.
//
// Error: each factor and partial product rounds by half a step of [0, 1]
// (1/65534), and the product is at most 1: about half an output step per
// rounding, nine roundings in all, plus the RSQRT tables in their top
// eighth; measured below.
func (c *converter) sqrt16(n *onnxpb.NodeProto, x *value, t *outTarget) {
	in := c.out.Tensors[x.tensor]
	name := n.GetName()
	r := len(in.Shape)
	T := 32767 * float64(in.Quant.Scale[0])
	tensor := func(suffix string, q *Quant) int {
		return c.addTensor(&Tensor{Name: name + suffix, Type: Int16, Shape: in.Shape, Quant: q})
	}
	unit := symGrid(Int16, 1)
	eighth := c.constTensor(name+"_eighth", Int16, []int32{1}, []int64{4096}, unit)
	prod := -1
	for k := 0; k < log16Levels; k++ {
		um := c.topEighthLevel(name, x, k, T, unit, eighth)
		rs := tensor(levelName("_rsqrt", k), symGrid(Int16, math.Sqrt(8)))
		c.addOp(OpRsqrt, []int{um}, []int{rs}, nil)
		f := tensor(levelName("_root", k), unit)
		c.addOp(OpMul, []int{um, rs}, []int{f}, newOptions(OptMul, 0))
		if prod < 0 {
			prod = f
			continue
		}
		p := tensor(levelName("_product", k), unit)
		c.addOp(OpMul, []int{prod, f}, []int{p}, newOptions(OptMul, 0))
		prod = p
	}
	y16 := t.qnt
	if t.typ != Int16 || t.qnt.ZeroPoint[0] != 0 {
		_, qmax := typeRange(t.typ)
		y16 = symGrid(Int16, float64(qmax-t.qnt.ZeroPoint[0])*float64(t.qnt.Scale[0]))
	}
	scaled := tensor("_scaled", y16)
	c.addOp(OpMul, []int{prod, c.scalarOperand(name+"_root_top", Int16, r, math.Sqrt(T))}, []int{scaled}, newOptions(OptMul, 0))
	top := float64(y16.Scale[0]) * 32767
	floor := tensor("_floor", y16)
	c.addOp(OpMul, []int{x.tensor, c.scalarOperand(name+"_zero_gain", Int16, r, top/float64(in.Quant.Scale[0]))}, []int{floor}, newOptions(OptMul, int64(ActRelu)))
	c.emitVia(t, x, name+"_sqrt16", y16, OpMinimum, []int{scaled, floor}, newOptions(OptMaximumMinimum))
}

// topEighthLevel is level k of log16 and sqrt16: u_k = x·8^k/T on int16's
// [0, 1] grid (unit), raised to at least 1/8 (the eighth constant), the
// part of its input grid where TFLite's interpolated int16 tables are
// accurate.
func (c *converter) topEighthLevel(name string, x *value, k int, T float64, unit *Quant, eighth int) int {
	shape := c.out.Tensors[x.tensor].Shape
	tensor := func(suffix string) int {
		return c.addTensor(&Tensor{Name: name + suffix, Type: Int16, Shape: shape, Quant: unit})
	}
	u := tensor(levelName("_u", k))
	c.addOp(OpMul, []int{x.tensor, c.scalarOperand(name+levelName("_gain", k), Int16, len(shape), math.Pow(8, float64(k))/T)}, []int{u}, newOptions(OptMul, 0))
	um := tensor(levelName("_clamped", k))
	c.addOp(OpMaximum, []int{u, eighth}, []int{um}, newOptions(OptMaximumMinimum))
	return um
}

// emitVia writes op into the output when q is the output's own grid, else
// into an int16 tensor (name) on q followed by a QUANTIZE to the output: the
// rewrites compute at 16 bits and round to the quantizer's grid once.
func (c *converter) emitVia(t *outTarget, x *value, name string, q *Quant, op BuiltinOp, inputs []int, opts *Options) {
	if q == t.qnt {
		out, _ := c.emitOut(t, x.shape, x.nhwc)
		c.addOp(op, inputs, []int{out}, opts)
		return
	}
	mid := c.addTensor(&Tensor{Name: name, Type: Int16, Shape: c.out.Tensors[x.tensor].Shape, Quant: q})
	c.addOp(op, inputs, []int{mid}, opts)
	out, _ := c.emitOut(t, x.shape, x.nhwc)
	c.addOp(OpQuantize, []int{mid}, []int{out}, newOptions(OptQuantize))
}
