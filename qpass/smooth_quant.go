package qpass

import (
	"fmt"
	"math"
	"slices"

	"github.com/onnxquant/onnxquant/lower"
)

// SmoothQuantDoc says what SmoothActivation rewrites and why; the
// quantizer's smooth-quant stage, which measures the activations first,
// shows it.
const SmoothQuantDoc = `Migrate activation outliers into the weights of MatMul/Gemm (--smooth-quant[=ALPHA]).

SmoothQuant (Xiao et al., 2023): the activation X read by MatMul/Gemm
layers with constant weights often has a few channels (last axis) far
larger than the rest, and its one per-tensor grid, sized by them, leaves
the other channels a handful of levels. Dividing channel j of X by s_j and
multiplying row j of every consumer's weight by s_j keeps the float
function; with s_j = max|X_j|^α / max|W_j|^(1−α) the two share the
difficulty (α = 0.5 by default), and the weights, quantized per output
channel, absorb it. The division is folded into X's producer: a
LayerNormalization over the last axis (its scale and bias), or a chain of
Mul/Add with a constant operand ending in one (each constant divided). Where
the producer cannot absorb it, nothing is inserted and the tensor is left as
it is.`

// SmoothTarget is an activation SmoothActivation can rescale: every user
// is a MatMul (as its first input, with a constant 2-D weight) or a Gemm
// (transA = 0, constant weight), and its producers can absorb a
// per-channel division.
type SmoothTarget struct {
	Value *lower.Value
	// Channels is the size of the last axis (the weights' input rows).
	Channels int
}

// SmoothTargets lists the activations of g that SmoothActivation can
// rescale, in graph order.
func SmoothTargets(g *lower.Graph, ctx *PassContext) []SmoothTarget {
	var out []SmoothTarget
	seen := map[*lower.Value]bool{}
	for _, n := range g.Nodes {
		if n.Op != lower.CallFunction || n.Target.Domain != "" || (n.Target.OpType != "MatMul" && n.Target.OpType != "Gemm") || len(n.Inputs) < 2 {
			continue
		}
		x := n.Inputs[0]
		if x == nil || seen[x] {
			continue
		}
		seen[x] = true
		k, ok := smoothConsumers(g, x, ctx)
		if !ok {
			continue
		}
		if _, ok := absorbPlan(g, x, k, nil); !ok {
			continue
		}
		out = append(out, SmoothTarget{Value: x, Channels: k})
	}
	return out
}

// smoothConsumers checks that every user of x reads it as the activation
// of a MatMul/Gemm with a constant weight, and returns the channel count.
func smoothConsumers(g *lower.Graph, x *lower.Value, ctx *PassContext) (int, bool) {
	if x.IsGraphOutput() || x.Producer == nil || x.Producer.Op != lower.CallFunction {
		return 0, false
	}
	users := g.Users(x)
	if len(users) == 0 {
		return 0, false
	}
	k := -1
	for _, u := range users {
		kk, ok := smoothWeightRows(u, x)
		if !ok || !ctx.quantized(u) || (k >= 0 && kk != k) {
			return 0, false
		}
		k = kk
	}
	return k, k > 0
}

// smoothWeightRows returns the input-channel count of a consumer's
// constant weight when u reads x only as its activation.
func smoothWeightRows(u *lower.Node, x *lower.Value) (int, bool) {
	if u.Op != lower.CallFunction || u.Target.Domain != "" || len(u.Inputs) < 2 || u.Inputs[0] != x || u.Inputs[1] == x {
		return 0, false
	}
	for _, in := range u.Inputs[2:] {
		if in == x {
			return 0, false
		}
	}
	_, d, ok := u.Inputs[1].ConstantFloats()
	if !ok || len(d) != 2 {
		return 0, false
	}
	switch u.Target.OpType {
	case "MatMul":
		return int(d[0]), true
	case "Gemm":
		if u.AttrInt("transA", 0) != 0 {
			return 0, false
		}
		if u.AttrInt("transB", 0) != 0 {
			return int(d[1]), true
		}
		return int(d[0]), true
	}
	return 0, false
}

// absorbEdit divides one constant operand along its last axis.
type absorbEdit struct {
	node  *lower.Node
	input int
}

// absorbPlan lists the constants to divide so that v comes out divided
// per channel (last axis, size k): a LayerNormalization over the last axis
// (scale, and bias when present), or a Mul/Add with a constant operand
// (Mul: that operand; Add: that operand and, recursively, the other
// input's producer). Every value on the way must be read only by the next
// node of the chain.
func absorbPlan(g *lower.Graph, v *lower.Value, k int, edits []absorbEdit) ([]absorbEdit, bool) {
	n := v.Producer
	if n == nil || n.Op != lower.CallFunction || n.Target.Domain != "" || len(n.Outputs) == 0 || n.Outputs[0] != v {
		return nil, false
	}
	if r, ok := rankOf(v); !ok || r < 1 || v.HasShape && v.Shape[len(v.Shape)-1].Known() && v.Shape[len(v.Shape)-1].Value != int64(k) {
		return nil, false
	}
	switch n.Target.OpType {
	case "LayerNormalization":
		r, _ := rankOf(v)
		if axis := n.AttrInt("axis", -1); axis != -1 && int(axis) != r-1 || len(n.Inputs) < 2 {
			return nil, false
		}
		for _, o := range n.Outputs[1:] {
			if o != nil && len(g.Users(o)) > 0 {
				return nil, false
			}
		}
		if !channelConstant(n.Inputs[1], k) {
			return nil, false
		}
		edits = append(edits, absorbEdit{n, 1})
		if len(n.Inputs) > 2 && n.Inputs[2] != nil {
			if !channelConstant(n.Inputs[2], k) {
				return nil, false
			}
			edits = append(edits, absorbEdit{n, 2})
		}
		return edits, true
	case "Mul", "Add":
		if len(n.Inputs) != 2 {
			return nil, false
		}
		c := -1
		for i, in := range n.Inputs {
			if channelConstant(in, k) {
				c = i
			}
		}
		if c < 0 {
			return nil, false
		}
		edits = append(edits, absorbEdit{n, c})
		if n.Target.OpType == "Mul" {
			return edits, true
		}
		a := n.Inputs[1-c]
		if a.IsGraphOutput() || len(g.Users(a)) != 1 || a.Producer == nil || a.Producer.Graph() != g {
			return nil, false
		}
		return absorbPlan(g, a, k, edits)
	}
	return nil, false
}

// channelConstant reports whether c is a float constant that broadcasts
// along a last axis of size k (its own last axis is k or 1, or it is a
// scalar).
func channelConstant(c *lower.Value, k int) bool {
	if c == nil {
		return false
	}
	_, d, ok := c.ConstantFloats()
	if !ok {
		return false
	}
	return len(d) == 0 || d[len(d)-1] == int64(k) || d[len(d)-1] == 1
}

// SmoothScales returns SmoothQuant's per-channel factors for an activation
// with per-channel largest magnitudes actMax: s_j = actMax_j^α /
// wMax_j^(1−α), where wMax_j is row j's largest weight magnitude over every
// consumer; 1 where either is zero. It also reports whether the activation
// has outlier channels: its largest channel at least OutlierRatio times its
// median channel.
func SmoothScales(g *lower.Graph, t SmoothTarget, actMax []float32, alpha float64) ([]float64, bool) {
	k := t.Channels
	if len(actMax) != k {
		return nil, false
	}
	wMax := make([]float64, k)
	for _, u := range g.Users(t.Value) {
		w, d, _ := u.Inputs[1].ConstantFloats()
		rowOf := weightRow(u, d)
		for i, x := range w {
			j := rowOf(i)
			wMax[j] = math.Max(wMax[j], math.Abs(float64(x)))
		}
	}
	sorted := make([]float64, k)
	for j, a := range actMax {
		sorted[j] = math.Abs(float64(a))
	}
	slices.Sort(sorted)
	median := sorted[k/2]
	outliers := sorted[k-1] > 0 && sorted[k-1] >= OutlierRatio*median
	s := make([]float64, k)
	for j := range s {
		a := math.Abs(float64(actMax[j]))
		s[j] = 1
		if a > 0 && wMax[j] > 0 {
			s[j] = math.Min(math.Max(math.Pow(a, alpha)/math.Pow(wMax[j], 1-alpha), 1e-5), 1e5)
		}
	}
	return s, outliers
}

// OutlierRatio is how many times its median channel an activation's
// largest channel must be for SmoothQuant to rescale it: at 8, a per-tensor
// int8 grid leaves the median channel at most 16 of its 127 levels on a
// side, so half the channels keep less than 4 bits.
const OutlierRatio = 8.0

// weightRow maps a flat index of a consumer's weight (dims d) to its
// input row.
func weightRow(u *lower.Node, d []int64) func(i int) int {
	cols := int(d[1])
	if u.Target.OpType == "Gemm" && u.AttrInt("transB", 0) != 0 {
		return func(i int) int { return i % cols }
	}
	return func(i int) int { return i / cols }
}

// SmoothActivation divides t's channels by s (folded into its producers)
// and multiplies its consumers' weight rows by s; the float function is
// unchanged.
func SmoothActivation(g *lower.Graph, t SmoothTarget, s []float64) error {
	edits, ok := absorbPlan(g, t.Value, t.Channels, nil)
	if !ok || len(s) != t.Channels {
		return fmt.Errorf("tensor %q: cannot absorb the smoothing scales", t.Value.Name)
	}
	k := t.Channels
	for _, e := range edits {
		c := e.node.Inputs[e.input]
		data, d, _ := c.ConstantFloats()
		if len(d) == 0 {
			d = []int64{1}
		}
		last := int(d[len(d)-1])
		nd := append(append([]int64{}, d[:len(d)-1]...), int64(k))
		outer := len(data) / last
		nc := make([]float32, outer*k)
		for o := 0; o < outer; o++ {
			for j := 0; j < k; j++ {
				src := data[o*last+j%last]
				nc[o*k+j] = float32(float64(src) / s[j])
			}
		}
		e.node.SetInput(e.input, g.NewInitializer(c.Name+"_smooth", floatTensor(nd, nc)))
	}
	for _, u := range g.Users(t.Value) {
		w, d, _ := u.Inputs[1].ConstantFloats()
		rowOf := weightRow(u, d)
		nw := make([]float32, len(w))
		for i, x := range w {
			nw[i] = float32(float64(x) * s[rowOf(i)])
		}
		u.SetInput(1, g.NewInitializer(u.Inputs[1].Name+"_smooth", floatTensor(d, nw)))
	}
	return nil
}
