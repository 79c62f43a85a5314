package lower

import (
	"fmt"
	"math"
	"slices"
)

// The down adapters of downHistory that rewrite more than a type check or
// an attribute at its default. Each takes a node back across one version
// step; ops they emit are written in the target opset's form.

// hardSwishDown: HardSwish (14) is x * HardSigmoid(x) with alpha 1/6 and
// beta 0.5, and HardSigmoid exists from opset 1.
func (c *converter) hardSwishDown(n *Node, to int64) error {
	x := n.Inputs[0]
	e := NewEmitter(n, to)
	hs := e.Op("HardSigmoid", []*Value{x}, FloatAttr("alpha", 1.0/6), FloatAttr("beta", 0.5))
	e.Replace(0, e.Op("Mul", []*Value{x, hs}))
	e.Done()
	return nil
}

// geluDown: Gelu (20) is 0.5 x (1 + erf(x / sqrt 2)), or with
// approximate="tanh" 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
func (c *converter) geluDown(n *Node, to int64) error {
	x := n.Inputs[0]
	if err := needFloat(x); err != nil {
		return err
	}
	rank, _ := rankOfValue(x)
	e := NewEmitter(n, to)
	var inner *Value
	switch mode := n.AttrString("approximate", "none"); mode {
	case "none":
		inner = e.Op("Erf", []*Value{e.Op("Mul", []*Value{x, e.Scalar("inv_sqrt2", float32(1/math.Sqrt2), rank)})})
	case "tanh":
		x3 := e.Op("Mul", []*Value{e.Op("Mul", []*Value{x, x}), x})
		s := e.Op("Add", []*Value{x, e.Op("Mul", []*Value{x3, e.Scalar("cubic", 0.044715, rank)})})
		inner = e.Op("Tanh", []*Value{e.Op("Mul", []*Value{s, e.Scalar("sqrt_2_over_pi", float32(math.Sqrt(2/math.Pi)), rank)})})
	default:
		return fmt.Errorf("approximate=%q", mode)
	}
	one := e.Op("Add", []*Value{inner, e.Scalar("one", 1, rank)})
	half := e.Op("Mul", []*Value{x, e.Scalar("half", 0.5, rank)})
	e.Replace(0, e.Op("Mul", []*Value{half, one}))
	e.Done()
	return nil
}

// mishDown: Mish (18) is x * tanh(softplus(x)).
func (c *converter) mishDown(n *Node, to int64) error {
	x := n.Inputs[0]
	e := NewEmitter(n, to)
	t := e.Op("Tanh", []*Value{e.Op("Softplus", []*Value{x})})
	e.Replace(0, e.Op("Mul", []*Value{x, t}))
	e.Done()
	return nil
}

// layerNormDown, groupNormDown: the normalisations become reductions
// (decompose.go). GroupNormalization also goes this way back from 21,
// where its scale and bias changed from per group to per channel.
func (c *converter) layerNormDown(n *Node, to int64) error { return DecomposeLayerNorm(n, to) }

func (c *converter) groupNormDown(n *Node, to int64) error { return DecomposeGroupNorm(n, to) }

// rmsNormDown, rotaryEmbeddingDown, attentionDown: the opset 23 operators
// become the ops they are defined by (decompose.go, decompose_rotary.go,
// decompose_attention.go); the forms those do not write are refused.
func (c *converter) rmsNormDown(n *Node, to int64) error { return DecomposeRMSNorm(n, to) }

func (c *converter) rotaryEmbeddingDown(n *Node, to int64) error {
	return DecomposeRotaryEmbedding(n, to)
}

func (c *converter) attentionDown(n *Node, to int64) error { return DecomposeAttention(n, to) }

// castLikeDown: CastLike (15) is Cast to the second input's type, when
// that type is known.
func (c *converter) castLikeDown(n *Node, _ int64) error {
	dt := valueDType(n.Inputs[1])
	if dt == 0 {
		return fmt.Errorf("the type of %q is unknown", n.Inputs[1].Name)
	}
	n.Target.OpType = "Cast"
	n.SetInputs(n.Inputs[:1])
	n.SetAttr(IntAttr("to", int64(dt)))
	return nil
}

// dropoutToIdentity: inference Dropout passes its input through, and
// Identity exists at every opset, so any Dropout step goes back by
// becoming Identity. A read mask output or a training_mode input that is
// not a constant false have no inference meaning and are refused.
func (c *converter) dropoutToIdentity(n *Node, _ int64) error {
	if len(n.Inputs) > 2 && n.Inputs[2] != nil {
		t, ok := constOfValue(n.Inputs[2])
		if !ok || slices.ContainsFunc(t.I, func(v int64) bool { return v != 0 }) {
			return fmt.Errorf("training_mode is not a constant false")
		}
	}
	if n.AttrInt("is_test", 1) == 0 && n.HasAttr("is_test") {
		return fmt.Errorf("is_test=0")
	}
	if err := dropExtraOutputs(n); err != nil {
		return err
	}
	n.Target.OpType = "Identity"
	n.SetInputs(n.Inputs[:1])
	n.Attrs = nil
	return nil
}

// reshape14Down: allowzero=1 (14) keeps a 0 in the shape as a zero-size
// dimension, where older versions copy the input's dimension. The two
// agree when the shape holds no 0, which a constant shape can show.
func (c *converter) reshape14Down(n *Node, _ int64) error {
	a := n.Attr("allowzero")
	if a == nil {
		return nil
	}
	if a.GetI() != 0 {
		t, ok := constOfValue(n.Inputs[1])
		if !ok || slices.Contains(t.I, 0) {
			return fmt.Errorf("allowzero=1 with a shape that is not a constant free of zeros")
		}
	}
	n.RemoveAttr("allowzero")
	return nil
}

// shape15Down: Shape's start and end (15) select a range of the
// dimensions; the older form is the full Shape followed by a Slice of it
// on axis 0 with the same bounds (both clamp and count negative bounds
// from the end the same way).
func (c *converter) shape15Down(n *Node, to int64) error {
	start, end := n.Attr("start"), n.Attr("end")
	if start == nil && end == nil {
		return nil
	}
	s, e := n.AttrInt("start", 0), n.AttrInt("end", math.MaxInt64)
	n.RemoveAttr("start")
	n.RemoveAttr("end")
	if s == 0 && end == nil {
		return nil
	}
	g := n.graph
	var sl *Node
	if to >= 10 {
		// The initializers go first: adding them shifts n's index.
		in := []*Value{nil, intsInit(g, n.Name+"_start", []int64{s}), intsInit(g, n.Name+"_end", []int64{e}), intsInit(g, n.Name+"_axes", []int64{0})}
		sl = g.NewOp(g.Index(n)+1, "Slice", n.Name+"_range", in, 1)
	} else {
		sl = g.NewOp(g.Index(n)+1, "Slice", n.Name+"_range", []*Value{nil}, 1,
			IntsAttr("starts", s), IntsAttr("ends", e), IntsAttr("axes", 0))
	}
	takeOverOutput(n, sl)
	return nil
}

// takeOverOutput makes next, inserted after n with input 0 left nil,
// produce n's output 0 (its name, readers and graph-output place) and read
// a fresh output of n instead.
func takeOverOutput(n, next *Node) {
	out, fresh := n.Outputs[0], next.Outputs[0]
	out.Producer, out.Index = next, 0
	fresh.Producer, fresh.Index = n, 0
	fresh.DType = out.DType
	n.Outputs[0], next.Outputs[0] = fresh, out
	next.SetInput(0, fresh)
}

// softmax13Down: before 13 Softmax, LogSoftmax and Hardmax coerce the
// input to 2-D at axis; that equals 13's single-axis meaning only when
// axis is the last one. The older default axis is 1, so the axis is
// always written.
func (c *converter) softmax13Down(n *Node, to int64) error {
	axis := n.AttrInt("axis", -1)
	rank, known := rankOfValue(n.Inputs[0])
	switch {
	case known && (axis == int64(rank)-1 || axis == -1):
		if to < 11 {
			axis = int64(rank) - 1
		}
	case axis == -1 && to >= 11:
	default:
		return fmt.Errorf("axis %d is not known to be the last axis", axis)
	}
	n.SetAttr(IntAttr("axis", axis))
	return nil
}

// constInts reads input i as an int64 constant.
func constInts(n *Node, i int) ([]int64, bool) {
	if i >= len(n.Inputs) || n.Inputs[i] == nil {
		return nil, false
	}
	t, ok := constOfValue(n.Inputs[i])
	if !ok || isFloatType(t.DType) {
		return nil, false
	}
	return t.I, true
}

// inputToInts is the down adapter of a step that moved an int list
// attribute to input i (Squeeze/Unsqueeze/ReduceSum axes at 13, the other
// reductions' axes at 18, Split's split at 13): a constant input becomes
// the attribute again, an omitted one stays omitted. Reductions from that
// step also have noop_with_empty_axes, which must be off.
func inputToInts(i int, name string) adapter {
	return func(_ *converter, n *Node, _ int64) error {
		if err := dropIntAttr("noop_with_empty_axes", 0)(nil, n, 0); err != nil {
			return err
		}
		if i >= len(n.Inputs) || n.Inputs[i] == nil {
			trimInputs(n)
			return nil
		}
		vals, ok := constInts(n, i)
		if !ok {
			return fmt.Errorf("input %s is not a constant", name)
		}
		n.SetInput(i, nil)
		trimInputs(n)
		if len(vals) > 0 {
			n.SetAttr(IntsAttr(name, vals...))
		}
		return nil
	}
}

// split18Down: from 18 an equal Split names its output count and may make
// the last part smaller; before, an equal split must divide evenly. When
// the dimension is known and does not divide, the sizes are written out.
func (c *converter) split18Down(n *Node, _ int64) error {
	n.RemoveAttr("num_outputs")
	if len(n.Inputs) > 1 && n.Inputs[1] != nil {
		return nil
	}
	x := n.Inputs[0]
	if !x.HasShape {
		return nil
	}
	axis := n.AttrInt("axis", 0)
	r := int64(len(x.Shape))
	if axis < 0 {
		axis += r
	}
	if axis < 0 || axis >= r || !x.Shape[axis].Known() {
		return nil
	}
	dim, parts := x.Shape[axis].Value, int64(len(n.Outputs))
	if dim%parts == 0 {
		return nil
	}
	chunk := (dim + parts - 1) / parts
	sizes := make([]int64, parts)
	for i := range sizes {
		sizes[i] = max(0, min(chunk, dim-int64(i)*chunk))
	}
	setInput(n, 1, intsInit(n.graph, n.Name+"_split", sizes))
	return nil
}

// clip11Down: constant min/max inputs become the float attributes again.
func (c *converter) clip11Down(n *Node, _ int64) error {
	for i, name := range []string{"min", "max"} {
		if i+1 >= len(n.Inputs) || n.Inputs[i+1] == nil {
			continue
		}
		t, ok := constOfValue(n.Inputs[i+1])
		if !ok || !isFloatType(t.DType) || t.Len() != 1 {
			return fmt.Errorf("%s is not a constant float scalar", name)
		}
		n.SetAttr(FloatAttr(name, float32(t.F[0])))
	}
	n.SetInputs(n.Inputs[:1])
	return nil
}

// slice10Down: constant starts, ends and axes inputs become attributes;
// steps must be absent or all one.
func (c *converter) slice10Down(n *Node, _ int64) error {
	if steps, ok := constInts(n, 4); len(n.Inputs) > 4 && n.Inputs[4] != nil && (!ok || slices.ContainsFunc(steps, func(s int64) bool { return s != 1 })) {
		return fmt.Errorf("steps are not constant ones")
	}
	names := []string{"starts", "ends", "axes"}
	var attrs [3][]int64
	for i, name := range names {
		if 1+i >= len(n.Inputs) || n.Inputs[1+i] == nil {
			if i < 2 {
				return fmt.Errorf("no %s", name)
			}
			continue
		}
		vals, ok := constInts(n, 1+i)
		if !ok {
			return fmt.Errorf("%s is not a constant", name)
		}
		attrs[i] = vals
	}
	n.SetInputs(n.Inputs[:1])
	for i, name := range names {
		if attrs[i] != nil {
			n.SetAttr(IntsAttr(name, attrs[i]...))
		}
	}
	return nil
}

// slice11Down: negative axes (11) in a constant axes input are made
// positive with the input's known rank.
func (c *converter) slice11Down(n *Node, _ int64) error {
	if len(n.Inputs) < 4 || n.Inputs[3] == nil {
		return nil
	}
	axes, ok := constInts(n, 3)
	if !ok {
		return fmt.Errorf("axes is not a constant")
	}
	if !slices.ContainsFunc(axes, func(a int64) bool { return a < 0 }) {
		return nil
	}
	rank, known := rankOfValue(n.Inputs[0])
	if !known {
		return fmt.Errorf("negative axes with an input of unknown rank")
	}
	fixed := slices.Clone(axes)
	for i, a := range fixed {
		if a < 0 {
			fixed[i] = a + int64(rank)
		}
	}
	n.SetInput(3, intsInit(n.graph, n.Name+"_axes", fixed))
	return nil
}

// pad11Down: constant pads and constant_value inputs become attributes.
func (c *converter) pad11Down(n *Node, _ int64) error {
	pads, ok := constInts(n, 1)
	if !ok {
		return fmt.Errorf("pads is not a constant")
	}
	if len(n.Inputs) > 2 && n.Inputs[2] != nil {
		t, ok := constOfValue(n.Inputs[2])
		if !ok || !isFloatType(t.DType) || t.Len() != 1 {
			return fmt.Errorf("constant_value is not a constant float scalar")
		}
		n.SetAttr(FloatAttr("value", float32(t.F[0])))
	}
	n.SetInputs(n.Inputs[:1])
	n.SetAttr(IntsAttr("pads", pads...))
	return nil
}

// negAxisDown is the down adapter of the steps at 11 that allowed a
// negative axis attribute: a negative axis is made positive with the
// known rank of input 0 (plus extra, for Unsqueeze's output rank).
func negAxisDown(name string) adapter {
	return func(_ *converter, n *Node, _ int64) error {
		a := n.Attr(name)
		if a == nil {
			return nil
		}
		rank, known := rankOfValue(n.Inputs[0])
		extra := int64(0)
		if n.Target.OpType == "Unsqueeze" {
			extra = int64(len(a.GetInts()))
		}
		fix := func(v int64) (int64, error) {
			if v >= 0 {
				return v, nil
			}
			if !known {
				return 0, fmt.Errorf("negative %s with an input of unknown rank", name)
			}
			return v + int64(rank) + extra, nil
		}
		if len(a.GetInts()) > 0 {
			vals := slices.Clone(a.GetInts())
			for i, v := range vals {
				var err error
				if vals[i], err = fix(v); err != nil {
					return err
				}
			}
			n.SetAttr(IntsAttr(name, vals...))
			return nil
		}
		v, err := fix(a.GetI())
		if err != nil {
			return err
		}
		n.SetAttr(IntAttr(name, v))
		return nil
	}
}

// topK10Down: a constant k input becomes the attribute.
func (c *converter) topK10Down(n *Node, _ int64) error {
	k, ok := constInts(n, 1)
	if !ok || len(k) != 1 {
		return fmt.Errorf("k is not a constant")
	}
	n.SetInputs(n.Inputs[:1])
	n.SetAttr(IntAttr("k", k[0]))
	return nil
}

// gemm11Down: C became optional at 11; older versions get a zero scalar.
func (c *converter) gemm11Down(n *Node, _ int64) error {
	if len(n.Inputs) > 2 && n.Inputs[2] != nil {
		return nil
	}
	dt := valueDType(n.Inputs[0])
	if dt != 0 && !isFloatType(dt) {
		return fmt.Errorf("Gemm of type %d without C", dt)
	}
	setInput(n, 2, scalarInit(n.graph, n.Name+"_c", dt, 0))
	return nil
}

// pow12Down: before 12 the exponent has the base's type, and both are
// floating.
func (c *converter) pow12Down(n *Node, _ int64) error {
	if err := onlyTypes(tFloats...)(c, n, 0); err != nil {
		return err
	}
	a, b := valueDType(n.Inputs[0]), valueDType(n.Inputs[1])
	if a != 0 && b != 0 && a != b {
		return fmt.Errorf("base of type %d with exponent of type %d", a, b)
	}
	return nil
}

// sameShapes: Min, Max, Sum and Mean broadcast from 8; before, all inputs
// must have one shape.
func (c *converter) sameShapes(n *Node, _ int64) error {
	first := n.Inputs[0]
	for _, v := range n.Inputs[1:] {
		if !first.HasShape || !v.HasShape || !slices.Equal(first.Shape, v.Shape) ||
			slices.ContainsFunc(v.Shape, func(d Dim) bool { return !d.Known() }) {
			return fmt.Errorf("inputs not known to share one shape (broadcasting starts at 8)")
		}
	}
	return nil
}

// batchNorm15Down: before 15, scale, bias, mean and variance have the
// input's type.
func (c *converter) batchNorm15Down(n *Node, _ int64) error {
	x := valueDType(n.Inputs[0])
	for _, v := range n.Inputs[1:] {
		if dt := valueDType(v); x != 0 && dt != 0 && dt != x {
			return fmt.Errorf("parameter %q of type %d with an input of type %d", v.Name, dt, x)
		}
	}
	return nil
}

// batchNorm14Down: training_mode (14) must be off, which also means only
// the first output exists.
func (c *converter) batchNorm14Down(n *Node, to int64) error {
	if err := dropIntAttr("training_mode", 0)(c, n, to); err != nil {
		return err
	}
	return dropExtraOutputs(n)
}

// quantize13Down: per-axis quantization starts at 13; a scalar scale
// (with the axis attribute then meaningless) goes back.
func (c *converter) quantize13Down(n *Node, _ int64) error {
	s := n.Inputs[1]
	if s.HasShape && (len(s.Shape) == 0 || len(s.Shape) == 1 && s.Shape[0].Known() && s.Shape[0].Value == 1) {
		n.RemoveAttr("axis")
		return nil
	}
	if t, ok := constOfValue(s); ok && t.Len() == 1 {
		n.RemoveAttr("axis")
		return nil
	}
	return fmt.Errorf("scale %q is not known to be a scalar (per-axis scales start at 13)", s.Name)
}

// resize13Down: Resize-11 requires the roi and scales inputs, which 13
// made optional; omitted ones become empty float tensors.
func (c *converter) resize13Down(n *Node, _ int64) error {
	for i, name := range []string{"roi", "scales"} {
		if 1+i >= len(n.Inputs) || n.Inputs[1+i] == nil {
			setInput(n, 1+i, n.graph.NewInitializer(n.Name+"_"+name, newCTensor(dtFloat, []int64{0}).toProto("")))
		}
	}
	return nil
}

// quantize21Down: block quantization (21) off.
func (c *converter) quantize21Down(n *Node, _ int64) error {
	return dropIntAttr("block_size", 0)(c, n, 0)
}

// constant12Down: the value_float(s)/value_int(s) shorthands (12) become
// the value tensor; value_string(s) have no older form.
func (c *converter) constant12Down(n *Node, _ int64) error {
	for _, name := range []string{"value_string", "value_strings"} {
		if n.HasAttr(name) {
			return fmt.Errorf("attribute %s", name)
		}
	}
	if n.HasAttr("value") {
		return nil
	}
	t := ConstantNodeTensor(n)
	if t == nil {
		return fmt.Errorf("no value")
	}
	n.Attrs = nil
	n.SetAttr(TensorAttr("value", t))
	return nil
}
