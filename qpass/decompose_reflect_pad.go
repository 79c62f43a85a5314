package qpass

import (
	"math"

	"github.com/onnxquant/onnxquant/lower"
)

const decomposeReflectPadDoc = `Rewrite Pad(mode=reflect, edge or wrap) with constant pads as Slice and Concat along each padded axis, where the target needs it.

Ethos-U55/U65 have no mirror padding (ExecuTorch rejects reflection_pad for
the +u55 subset), but they run TOSA REVERSE along H and W, SLICE, TILE and
CONCAT. Reflecting x along axis a by (p0, p1) is
Concat(x[p0:0:-1], x, x[n-2:n-2-p1:-1]); edge padding concatenates p0
copies of x[0:1] (a Tile), x, and p1 copies of x[n-1:n]; wrap padding
concatenates x[n-p0:n], x and x[0:p1]. The reversed pieces are Slices with
step -1, which the Ethos-U legality check reads as REVERSE (+SLICE) and
allows only along axes that land on H or W. Slice, Tile and Concat share
their input's quantization parameters, so the padded tensor keeps the one
scale the Pad had. Only done when the target asks for it
(PassContext.NeedsDecomposition.ReflectPad).`

// sliceEnd stands for "to the end of the axis" in a Slice.
const sliceEnd = int64(math.MaxInt64)

// DecomposeReflectPad rewrites non-constant-mode Pads of float tensors that
// will be quantized. Pads whose amounts are not constants, are negative
// (cropping) or exceed what the mode allows on a known axis size are left
// alone, for the legality check to report.
func DecomposeReflectPad(gm *lower.GraphModule, ctx *PassContext) (bool, error) {
	if !ctx.NeedsDecomposition.ReflectPad {
		return false, nil
	}
	return eachNode(gm, func(n *lower.Node) (bool, error) {
		if n.Target.Domain != "" || n.Target.OpType != "Pad" || len(n.Inputs) == 0 || !ctx.quantized(n) || !floatTyped(n.Inputs[0]) {
			return false, nil
		}
		mode := n.AttrString("mode", "constant")
		if mode != "reflect" && mode != "edge" && mode != "wrap" {
			return false, nil
		}
		opset := n.Graph().Module.Opset("")
		if opset < 10 {
			// Slice takes its bounds as inputs from opset 10 on.
			return false, nil
		}
		plan, rank, ok := padPlan(n)
		if !ok {
			return false, nil
		}
		x := n.Inputs[0]
		for _, ap := range plan {
			if d, known := dimOf(x, int(ap.axis)); known && !padFits(mode, ap, d) {
				return false, nil
			}
		}
		e := lower.NewEmitter(n, opset)
		y := x
		for _, ap := range plan {
			y = padAxis(e, y, mode, ap, rank)
		}
		if y == x {
			y = e.Op("Identity", []*lower.Value{x})
		}
		e.Replace(0, y)
		e.Done()
		return true, nil
	})
}

// axisPad is the padding of one axis: before and after.
type axisPad struct{ axis, before, after int64 }

// padPlan reads the constant pads (and axes, opset 18+) of a Pad node and
// returns the padded axes in the order the pads list them, normalised to
// 0..rank-1, with the input's rank. ok is false when the pads are not
// constants, are negative or do not match the rank.
func padPlan(n *lower.Node) (plan []axisPad, rank int, ok bool) {
	var pads []int64
	if len(n.Inputs) > 1 && n.Inputs[1] != nil {
		if pads, ok = n.Inputs[1].ConstantInts(); !ok {
			return nil, 0, false
		}
	} else {
		pads = n.AttrInts("pads", nil)
	}
	if len(pads) == 0 || len(pads)%2 != 0 {
		return nil, 0, false
	}
	k := len(pads) / 2
	rank = k
	axes := make([]int64, k)
	for i := range axes {
		axes[i] = int64(i)
	}
	if len(n.Inputs) > 3 && n.Inputs[3] != nil {
		r, known := rankOf(n.Inputs[0])
		a, isConst := n.Inputs[3].ConstantInts()
		if !known || !isConst || len(a) != k {
			return nil, 0, false
		}
		rank, axes = r, a
	}
	seen := map[int64]bool{}
	for i, a := range axes {
		if a < 0 {
			a += int64(rank)
		}
		if a < 0 || a >= int64(rank) || seen[a] {
			return nil, 0, false
		}
		seen[a] = true
		b, f := pads[i], pads[i+k]
		if b < 0 || f < 0 {
			return nil, 0, false
		}
		if b > 0 || f > 0 {
			plan = append(plan, axisPad{axis: a, before: b, after: f})
		}
	}
	if r, known := rankOf(n.Inputs[0]); known && r != rank {
		return nil, 0, false
	}
	return plan, rank, true
}

// padFits reports whether the mode can pad an axis of size d by ap: reflect
// mirrors around the edge element, so it reaches at most d-1 elements; wrap
// repeats the axis once at most; edge needs one element.
func padFits(mode string, ap axisPad, d int64) bool {
	switch mode {
	case "reflect":
		return ap.before <= d-1 && ap.after <= d-1
	case "wrap":
		return ap.before <= d && ap.after <= d
	}
	return d >= 1
}

// padAxis emits the pieces of one padded axis and their Concat.
func padAxis(e *lower.Emitter, x *lower.Value, mode string, ap axisPad, rank int) *lower.Value {
	var head, tail *lower.Value
	switch mode {
	case "reflect":
		if ap.before > 0 {
			head = slice1(e, x, ap.axis, ap.before, 0, -1)
		}
		if ap.after > 0 {
			tail = slice1(e, x, ap.axis, -2, -2-ap.after, -1)
		}
	case "edge":
		if ap.before > 0 {
			head = repeat(e, slice1(e, x, ap.axis, 0, 1, 1), ap.axis, ap.before, rank)
		}
		if ap.after > 0 {
			tail = repeat(e, slice1(e, x, ap.axis, -1, sliceEnd, 1), ap.axis, ap.after, rank)
		}
	default: // wrap
		if ap.before > 0 {
			head = slice1(e, x, ap.axis, -ap.before, sliceEnd, 1)
		}
		if ap.after > 0 {
			tail = slice1(e, x, ap.axis, 0, ap.after, 1)
		}
	}
	parts := make([]*lower.Value, 0, 3)
	if head != nil {
		parts = append(parts, head)
	}
	parts = append(parts, x)
	if tail != nil {
		parts = append(parts, tail)
	}
	return e.Op("Concat", parts, lower.IntAttr("axis", ap.axis))
}

// slice1 emits a Slice of x along one axis.
func slice1(e *lower.Emitter, x *lower.Value, axis, start, end, step int64) *lower.Value {
	one := []int64{1}
	return e.Op("Slice", []*lower.Value{x,
		e.Ints("starts", one, []int64{start}), e.Ints("ends", one, []int64{end}),
		e.Ints("axes", one, []int64{axis}), e.Ints("steps", one, []int64{step})})
}

// repeat tiles a one-element-thick slice of a rank-rank tensor count times
// along axis.
func repeat(e *lower.Emitter, v *lower.Value, axis, count int64, rank int) *lower.Value {
	if count == 1 {
		return v
	}
	reps := ones(rank)
	reps[axis] = count
	return e.Op("Tile", []*lower.Value{v, e.Ints("repeats", []int64{int64(rank)}, reps)})
}
