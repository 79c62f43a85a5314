package qpass

import (
	"math"

	"github.com/onnxquant/onnxquant/lower"
)

const equalizeCrossLayerDoc = `Equalize the weight ranges of Conv→(Relu)→Conv chains (--equalize).

Cross-layer equalization (Nagel et al., 2019): a Relu (or LeakyRelu) is
positively homogeneous, so dividing output channel i of the first Conv
(weights and bias) by s_i and multiplying the second Conv's input channel i
by s_i keeps the float function. With s_i = sqrt(r1_i / r2_i), where r1_i
and r2_i are the channel's largest weight magnitudes in each layer, both
become sqrt(r1_i · r2_i): the channels of the tensor between them get
comparable ranges, so its one per-tensor activation grid serves all of
them, and the second layer's per-channel weight grids are no longer set by
one channel that dominates its fan-in. Depthwise-separable blocks (a
depthwise Conv, then a pointwise one) are the common case.

The tensors between the two layers (the first Conv's output and the
activation's) then hold channel i divided by s_i: they are no longer the
float model's tensors, so they are renamed (suffix "_equalized"). eval,
auto-a16w8 and the other measurements pair a quantized model's tensors
with the float model's by name; under the old name they compared the
rescaled tensor with the original one, reported it as losing most of its
SQNR and hinted at it.`

// EqualizeCrossLayer rescales every eligible Conv pair when the context
// asks for it (PassContext.EqualizeCrossLayer).
func EqualizeCrossLayer(gm *lower.GraphModule, ctx *PassContext) (bool, error) {
	if ctx == nil || !ctx.EqualizeCrossLayer {
		return false, nil
	}
	changed := false
	// renamed holds the tensors already given an "_equalized" name, so
	// that a pair equalized again in a later sweep keeps its one suffix.
	renamed := map[*lower.Value]bool{}
	err := gm.Walk(func(m *lower.GraphModule) error {
		// A few sweeps: equalizing (B, C) moves B's rows, which (A, B)
		// had balanced against A.
		for sweep := 0; sweep < 4; sweep++ {
			moved := false
			for _, n := range append([]*lower.Node(nil), m.Graph.Nodes...) {
				if equalizePair(m.Graph, n, ctx, renamed) {
					moved, changed = true, true
				}
			}
			if !moved {
				break
			}
		}
		return nil
	})
	return changed, err
}

// scaleEquivariant are the activations f with f(s·x) = s·f(x) for s > 0.
var scaleEquivariant = set("Relu", "LeakyRelu")

// equalizePair equalizes first with the Conv its output (through at most
// one scale-equivariant activation) feeds alone, and reports whether any
// scale moved noticeably.
func equalizePair(g *lower.Graph, first *lower.Node, ctx *PassContext, renamed map[*lower.Value]bool) bool {
	if first.Op != lower.CallFunction || first.Target.OpType != "Conv" || !ctx.quantized(first) || len(first.Inputs) < 2 {
		return false
	}
	v := first.Outputs[0]
	between := []*lower.Value{v}
	next := soleUser(v)
	if next != nil && scaleEquivariant[next.Target.OpType] && ctx.quantized(next) {
		v = next.Outputs[0]
		between = append(between, v)
		next = soleUser(v)
	}
	if next == nil || next.Target.OpType != "Conv" || !ctx.quantized(next) || len(next.Inputs) < 2 || next.Inputs[0] != v {
		return false
	}
	w1, d1, ok1 := first.Inputs[1].ConstantFloats()
	w2, d2, ok2 := next.Inputs[1].ConstantFloats()
	if !ok1 || !ok2 || len(d1) < 3 || len(d2) < 3 {
		return false
	}
	var b1 []float32
	if len(first.Inputs) > 2 && first.Inputs[2] != nil {
		var ok bool
		if b1, _, ok = first.Inputs[2].ConstantFloats(); !ok {
			return false
		}
	}
	ch := int(d1[0])
	group2 := int(next.AttrInt("group", 1))
	perGroup := int(d2[1]) // input channels per group of the second Conv
	out2 := int(d2[0])
	if perGroup*group2 != ch || out2%group2 != 0 || len(b1) != 0 && len(b1) != ch {
		return false
	}
	inner1 := len(w1) / ch
	inner2 := len(w2) / (out2 * perGroup)
	outPerGroup := out2 / group2
	// The second layer's weights of channel i: every output o of i's
	// group, at local input i%perGroup.
	each2 := func(i int, f func(idx int)) {
		grp, local := i/perGroup, i%perGroup
		for o := grp * outPerGroup; o < (grp+1)*outPerGroup; o++ {
			base := (o*perGroup + local) * inner2
			for k := 0; k < inner2; k++ {
				f(base + k)
			}
		}
	}
	scales := make([]float64, ch)
	moved := false
	for i := 0; i < ch; i++ {
		var r1, r2 float64
		for k := 0; k < inner1; k++ {
			r1 = math.Max(r1, math.Abs(float64(w1[i*inner1+k])))
		}
		each2(i, func(idx int) { r2 = math.Max(r2, math.Abs(float64(w2[idx]))) })
		scales[i] = 1
		if r1 > 0 && r2 > 0 {
			scales[i] = math.Min(math.Max(math.Sqrt(r1/r2), 1e-6), 1e6)
		}
		if math.Abs(scales[i]-1) > 1e-3 {
			moved = true
		}
	}
	if !moved {
		return false
	}
	nw1 := make([]float32, len(w1))
	for i := range nw1 {
		nw1[i] = float32(float64(w1[i]) / scales[i/inner1])
	}
	nw2 := make([]float32, len(w2))
	copy(nw2, w2)
	for i := 0; i < ch; i++ {
		each2(i, func(idx int) { nw2[idx] = float32(float64(w2[idx]) * scales[i]) })
	}
	first.SetInput(1, g.NewInitializer(first.Inputs[1].Name+"_cle", floatTensor(d1, nw1)))
	next.SetInput(1, g.NewInitializer(next.Inputs[1].Name+"_cle", floatTensor(d2, nw2)))
	if b1 != nil {
		nb := make([]float32, ch)
		for i := range nb {
			nb[i] = float32(float64(b1[i]) / scales[i])
		}
		first.SetInput(2, g.NewInitializer(first.Inputs[2].Name+"_cle", floatTensor([]int64{int64(ch)}, nb)))
	}
	for _, b := range between {
		if !renamed[b] {
			g.RenameValue(b, g.NewValueName(b.Name+"_equalized"))
			renamed[b] = true
		}
	}
	return true
}
