package tflite

import (
	"fmt"
	"math"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// Erf and Gelu have no TFLite builtin that Vela runs on the NPU (Vela has no
// GELU, and no table op can be given an arbitrary function). Both become
// TANH or LOGISTIC of the odd cubic of GELU's tanh approximation, built
// from MUL and ADD, all of which Vela runs on the NPU:
//
//	erf(u)  ≈ tanh(a·u + b·u³),     a = 2/√π, b = 2√2·√(2/π)·0.044715
//	gelu(x) ≈ x·σ(c·x + d·x³),      c = 2·√(2/π), d = c·0.044715
//
// (the approximation's error, about 4e-4 on erf and 2e-4 on gelu, is far
// below an int8 step and a few int16 steps). The operator's input and
// output keep the quantizer's qparams; the intermediate tensors, which the
// QDQ graph does not have, get grids by one rule, derived from the input's
// grid alone: the cubic z is kept only where the table op is not saturated
// (|z| ≤ zSat, where the table's output is within half of its last step of
// ±1), so each intermediate spans what it takes on inputs up to
// X = min(max |input|, the |x| where |z| = zSat), on the activation type's
// full symmetric grid (or [0, max] with the type's full range for the
// squares). Larger inputs saturate the intermediates, which leaves the
// table op saturated too, as it would be.
const (
	erfA  = 1.1283791670955126 // 2/√π
	erfB  = 0.10091059842779984
	geluC = 1.5957691216057308 // 2·√(2/π)
	geluD = 0.07135481627159927
)

// saturation is the |z| beyond which the fixed-scale table op's output is
// within half a step of its limit.
func saturation(op BuiltinOp, typ TensorType) float64 {
	step := fixedQuant(op, typ).Scale[0]
	if op == OpTanh { // 1 - tanh(z) = step/2
		return math.Atanh(1 - float64(step)/2)
	}
	return math.Log(2/float64(step) - 1) // 1 - σ(z) = step/2
}

// cubicReach solves c1·x + c2·x³ = z for x > 0.
func cubicReach(c1, c2, z float64) float64 {
	lo, hi := 0.0, z/c1
	for i := 0; i < 200; i++ {
		m := (lo + hi) / 2
		if c1*m+c2*m*m*m < z {
			lo = m
		} else {
			hi = m
		}
	}
	return hi
}

// symGrid is a symmetric grid of typ reaching ±m; posGrid one over [0, m]
// (int8 with zero point -128; int16 symmetric, as Vela wants zero point 0).
func symGrid(typ TensorType, m float64) *Quant {
	_, qmax := typeRange(typ)
	return &Quant{Scale: []float32{float32(m / float64(qmax))}, ZeroPoint: []int64{0}}
}

func posGrid(typ TensorType, m float64) *Quant {
	qmin, qmax := typeRange(typ)
	if typ == Int16 {
		return symGrid(typ, m)
	}
	return &Quant{Scale: []float32{float32(m / float64(qmax-qmin))}, ZeroPoint: []int64{qmin}}
}

// scalarOperand is a constant of rank r holding v exactly (±the type's
// largest value at scale |v|/qmax; 0 at scale 1/qmax).
func (c *converter) scalarOperand(name string, typ TensorType, r int, v float64) int {
	_, qmax := typeRange(typ)
	shape := make([]int32, r)
	for i := range shape {
		shape[i] = 1
	}
	q, a := qmax, math.Abs(v)
	if v < 0 {
		q = -q
	}
	if a == 0 {
		q, a = 0, 1
	}
	return c.constTensor(name, typ, shape, []int64{q}, &Quant{Scale: []float32{float32(a / float64(qmax))}, ZeroPoint: []int64{0}})
}

// cubic emits z = c1·x + c2·x³ as x·(c1 + (c2·x)·x): MUL, MUL, ADD, MUL,
// on the grids the rule above gives for a table op saturating at zSat.
func (c *converter) cubic(n *onnxpb.NodeProto, x *value, c1, c2, zSat float64) (int, error) {
	in := c.out.Tensors[x.tensor]
	typ := in.Type
	if typ != Int8 && typ != Int16 {
		return 0, fmt.Errorf("%w: %s on %s activations", ErrUnsupported, n.GetOpType(), typ)
	}
	qmin, qmax := typeRange(typ)
	s, zp := float64(in.Quant.Scale[0]), in.Quant.ZeroPoint[0]
	m := math.Max(math.Abs(float64(qmin-zp)*s), math.Abs(float64(qmax-zp)*s))
	X := math.Min(m, cubicReach(c1, c2, zSat))
	r := len(in.Shape)
	name := n.GetName()
	tensor := func(suffix string, q *Quant) int {
		return c.addTensor(&Tensor{Name: name + suffix, Type: typ, Shape: in.Shape, Quant: q})
	}
	mul := func(a, b, out int) { c.addOp(OpMul, []int{a, b}, []int{out}, newOptions(OptMul, 0)) }
	c2x := tensor("_c2x", symGrid(typ, c2*X))
	mul(x.tensor, c.scalarOperand(name+"_c2", typ, r, c2), c2x)
	c2x2 := tensor("_c2x2", posGrid(typ, c2*X*X))
	mul(x.tensor, c2x, c2x2)
	poly := tensor("_poly", posGrid(typ, c1+c2*X*X))
	c.addOp(OpAdd, []int{c2x2, c.scalarOperand(name+"_c1", typ, r, c1)}, []int{poly}, newOptions(OptAdd, 0, 0))
	z := tensor("_cubic", symGrid(typ, zSat))
	mul(x.tensor, poly, z)
	return z, nil
}

// erf maps Erf to TANH of the cubic above, into the quantizer's output
// qparams (a QUANTIZE after TANH's fixed output scale).
func (c *converter) erf(n *onnxpb.NodeProto) error {
	x, t, err := c.unaryIO(n)
	if err != nil {
		return err
	}
	typ := c.out.Tensors[x.tensor].Type
	z, err := c.cubic(n, x, erfA, erfB, saturation(OpTanh, typ))
	if err != nil {
		return err
	}
	zv := *x
	zv.tensor = z
	c.withFixedOutput(n, OpTanh, &zv, t, nil)
	return nil
}

// gelu maps Gelu (either approximation) to x·LOGISTIC(cubic) into the
// quantizer's output qparams.
func (c *converter) gelu(n *onnxpb.NodeProto) error {
	x, t, err := c.unaryIO(n)
	if err != nil {
		return err
	}
	typ := c.out.Tensors[x.tensor].Type
	z, err := c.cubic(n, x, geluC, geluD, saturation(OpLogistic, typ))
	if err != nil {
		return err
	}
	in := c.out.Tensors[x.tensor]
	sig := c.addTensor(&Tensor{Name: n.GetName() + "_sigmoid", Type: typ, Shape: in.Shape, Quant: fixedQuant(OpLogistic, typ)})
	c.addOp(OpLogistic, []int{z}, []int{sig}, nil)
	out, _ := c.emitOut(t, x.shape, x.nhwc)
	c.addOp(OpMul, []int{x.tensor, sig}, []int{out}, newOptions(OptMul, 0))
	return nil
}
