package qpass

import (
	"math"

	"github.com/onnxquant/onnxquant/lower"
)

const foldBatchNormDoc = `Fold inference BatchNormalization into the Conv, ConvTranspose or Gemm before it, or into Mul and Add.

A BatchNormalization whose statistics and affine parameters are constant is a
per-channel scale and shift. After a Conv, ConvTranspose or Gemm whose only
reader it is, the scale goes into the weights and the shift into the bias
(created when absent), so the quantizer sees one weighted operator, as
ExecuTorch's FuseBatchNorm2dPass does. Anywhere else it becomes a Mul and an
Add by constant per-channel tensors shaped (C,1,...,1) to broadcast over the
spatial axes (DecomposeBatchNormNoStatsPass), since Ethos-U has no batch
normalisation operator.`

// FoldBatchNorm folds or decomposes inference BatchNormalization nodes.
func FoldBatchNorm(gm *lower.GraphModule, ctx *PassContext) (bool, error) {
	return eachNode(gm, func(n *lower.Node) (bool, error) {
		if n.Target.Domain != "" || n.Target.OpType != "BatchNormalization" || !ctx.quantized(n) {
			return false, nil
		}
		if n.AttrInt("training_mode", 0) != 0 || len(n.Inputs) < 5 {
			return false, nil
		}
		for _, o := range n.Outputs[1:] {
			if o != nil && len(n.Graph().Users(o)) > 0 {
				return false, nil
			}
		}
		scale, shift, ok := bnAffine(n)
		if !ok {
			return false, nil
		}
		if foldIntoProducer(n, scale, shift) {
			return true, nil
		}
		return decomposeBatchNorm(n, scale, shift), nil
	})
}

// bnAffine computes y = x*scale + shift per channel, in float64.
func bnAffine(n *lower.Node) (scale, shift []float64, ok bool) {
	var p [4][]float32
	for i := range p {
		f, _, ok := n.Inputs[i+1].ConstantFloats()
		if !ok {
			return nil, nil, false
		}
		p[i] = f
	}
	gamma, beta, mean, variance := p[0], p[1], p[2], p[3]
	c := len(gamma)
	if len(beta) != c || len(mean) != c || len(variance) != c || c == 0 {
		return nil, nil, false
	}
	eps := float64(n.AttrFloat("epsilon", 1e-5))
	scale = make([]float64, c)
	shift = make([]float64, c)
	for i := range c {
		scale[i] = float64(gamma[i]) / math.Sqrt(float64(variance[i])+eps)
		shift[i] = float64(beta[i]) - float64(mean[i])*scale[i]
	}
	return scale, shift, true
}

// foldIntoProducer folds the BatchNormalization into the weighted operator
// feeding it, when that operator has constant float weights and the
// BatchNormalization is its only reader.
func foldIntoProducer(bn *lower.Node, scale, shift []float64) bool {
	x := bn.Inputs[0]
	p := x.Producer
	g := bn.Graph()
	if p == nil || p.Op != lower.CallFunction || p.Target.Domain != "" || p.Graph() != g {
		return false
	}
	if users := g.Users(x); len(users) != 1 || isOutputOf(g, x) {
		return false
	}
	if len(p.Inputs) < 2 {
		return false
	}
	w, wdims, ok := p.Inputs[1].ConstantFloats()
	if !ok {
		return false
	}
	c := len(scale)
	var bias []float32
	if len(p.Inputs) > 2 && p.Inputs[2] != nil {
		b, _, ok := p.Inputs[2].ConstantFloats()
		if !ok {
			return false
		}
		bias = b
	}
	var newW []float32
	var newB []float32
	switch p.Target.OpType {
	case "Conv":
		if len(wdims) < 3 || wdims[0] != int64(c) {
			return false
		}
		newW = scaleRows(w, scale)
	case "ConvTranspose":
		group := int(p.AttrInt("group", 1))
		if len(wdims) < 3 || int(wdims[1])*group != c || int(wdims[0])%group != 0 {
			return false
		}
		// Weights are (C_in, C_out/group, k...): row r, column j feeds
		// output channel (r / (C_in/group))*(C_out/group) + j.
		cin, per := int(wdims[0]), int(wdims[1])
		inner := len(w) / (cin * per)
		newW = make([]float32, len(w))
		for r := range cin {
			for j := range per {
				ch := (r/(cin/group))*per + j
				for k := range inner {
					idx := (r*per+j)*inner + k
					newW[idx] = float32(float64(w[idx]) * scale[ch])
				}
			}
		}
	case "Gemm":
		if len(wdims) != 2 || p.AttrFloat("alpha", 1) != 1 {
			return false
		}
		transB := p.AttrInt("transB", 0) != 0
		if transB {
			if wdims[0] != int64(c) {
				return false
			}
			newW = scaleRows(w, scale)
		} else {
			if wdims[1] != int64(c) {
				return false
			}
			newW = make([]float32, len(w))
			for i := range w {
				newW[i] = float32(float64(w[i]) * scale[i%c])
			}
		}
		if bias != nil {
			beta := float64(p.AttrFloat("beta", 1))
			switch len(bias) {
			case 1:
				b := bias[0]
				bias = make([]float32, c)
				for i := range bias {
					bias[i] = float32(float64(b) * beta)
				}
			case c:
				if bd := p.Inputs[2]; len(constDims(bd)) > 2 || (len(constDims(bd)) == 2 && constDims(bd)[0] != 1) {
					return false
				}
				for i := range bias {
					bias[i] = float32(float64(bias[i]) * beta)
				}
			default:
				return false
			}
		}
	default:
		return false
	}
	newB = make([]float32, c)
	for i := range c {
		b := 0.0
		if bias != nil {
			b = float64(bias[i])
		}
		newB[i] = float32(b*scale[i] + shift[i])
	}
	if len(newW) != len(w) {
		return false
	}
	wv := g.NewInitializer(p.Inputs[1].Name+"_bnfold", floatTensor(wdims, newW))
	bv := g.NewInitializer(biasName(p)+"_bnfold", floatTensor([]int64{int64(c)}, newB))
	p.SetInput(1, wv)
	if len(p.Inputs) > 2 {
		p.SetInput(2, bv)
	} else {
		p.SetInputs(append(p.Inputs, bv))
	}
	if p.Target.OpType == "Gemm" {
		p.SetAttr(lower.FloatAttr("beta", 1))
	}
	g.Adopt(bn.Outputs[0], x)
	g.RemoveNode(bn)
	return true
}

func biasName(p *lower.Node) string {
	if len(p.Inputs) > 2 && p.Inputs[2] != nil {
		return p.Inputs[2].Name
	}
	return p.Inputs[1].Name + "_bias"
}

func constDims(v *lower.Value) []int64 {
	t, _, ok := v.Constant()
	if !ok {
		return nil
	}
	return t.Dims
}

// scaleRows multiplies row i of a row-major tensor with c rows by scale[i].
func scaleRows(w []float32, scale []float64) []float32 {
	c := len(scale)
	inner := len(w) / c
	out := make([]float32, len(w))
	for i := range w {
		out[i] = float32(float64(w[i]) * scale[i/inner])
	}
	return out
}

func isOutputOf(g *lower.Graph, v *lower.Value) bool {
	out := g.OutputNode()
	if out == nil {
		return false
	}
	for _, o := range out.Inputs {
		if o == v {
			return true
		}
	}
	return false
}

// decomposeBatchNorm turns the node into x*scale + shift with constants
// shaped (C,1,...,1).
func decomposeBatchNorm(bn *lower.Node, scale, shift []float64) bool {
	rank, ok := rankOf(bn.Inputs[0])
	if !ok || rank < 2 {
		return false
	}
	if c, ok := dimOf(bn.Inputs[0], 1); ok && c != int64(len(scale)) {
		return false
	}
	dims := append([]int64{int64(len(scale))}, ones(rank-2)...)
	s := make([]float32, len(scale))
	t := make([]float32, len(shift))
	for i := range s {
		s[i], t[i] = float32(scale[i]), float32(shift[i])
	}
	e := lower.NewEmitter(bn, bn.Graph().Module.Opset(""))
	m := e.Op("Mul", []*lower.Value{bn.Inputs[0], e.Floats("scale", dims, s)})
	y := e.Op("Add", []*lower.Value{m, e.Floats("shift", dims, t)})
	e.Replace(0, y)
	e.Done()
	return true
}
