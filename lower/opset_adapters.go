package lower

import (
	"fmt"
)

// The adapters named in opHistory. Each rewrites one node in place for one
// version step; attribute-to-input moves add initializers next to the
// graph's others.

// intsInit adds an int64 1-D initializer.
func intsInit(g *Graph, name string, vals []int64) *Value {
	t := int64Tensor([]int64{int64(len(vals))}, append([]int64{}, vals...))
	return g.NewInitializer(name, t.toProto(""))
}

// scalarInit adds a scalar initializer of the given floating or integer
// type (FLOAT when unknown).
func scalarInit(g *Graph, name string, dtype int32, v float64) *Value {
	if dtype == 0 {
		dtype = dtFloat
	}
	t := newCTensor(dtype, []int64{})
	t.setFloat(0, v)
	return g.NewInitializer(name, t.toProto(""))
}

// setInput sets input i, padding with omitted inputs.
func setInput(n *Node, i int, v *Value) {
	for len(n.Inputs) <= i {
		n.SetInputs(append(n.Inputs, nil))
	}
	n.SetInput(i, v)
}

// trimInputs drops trailing omitted inputs.
func trimInputs(n *Node) {
	for len(n.Inputs) > 0 && n.Inputs[len(n.Inputs)-1] == nil {
		n.SetInputs(n.Inputs[:len(n.Inputs)-1])
	}
}

// axesToInput moves the axes attribute to input 1 (Squeeze/Unsqueeze and
// ReduceSum at 13, the other Reduce* at 18). Without the attribute the
// input stays omitted, which keeps the meaning (all axes / all ones).
func (c *converter) axesToInput(n *Node, _ int64) error {
	a := n.Attr("axes")
	if a == nil {
		if n.Target.OpType == "Unsqueeze" {
			return fmt.Errorf("Unsqueeze without axes")
		}
		return nil
	}
	n.RemoveAttr("axes")
	setInput(n, 1, intsInit(n.graph, n.Name+"_axes", a.GetInts()))
	return nil
}

// clip11 moves min/max from attributes to inputs. An absent bound stays
// absent: both forms default to the type's extremes.
func (c *converter) clip11(n *Node, _ int64) error {
	dt := n.Inputs[0].DType
	if dt != 0 && !isFloatType(dt) {
		return fmt.Errorf("Clip of dtype %d", dt)
	}
	lo, hi := n.Attr("min"), n.Attr("max")
	n.RemoveAttr("min")
	n.RemoveAttr("max")
	n.SetInputs(n.Inputs[:1])
	if lo != nil {
		setInput(n, 1, scalarInit(n.graph, n.Name+"_min", dt, float64(lo.GetF())))
	}
	if hi != nil {
		setInput(n, 2, scalarInit(n.graph, n.Name+"_max", dt, float64(hi.GetF())))
	}
	return nil
}

// softmax13 adapts Softmax, LogSoftmax and Hardmax: before 13 they flatten
// the input to 2-D at axis and normalise the second dimension; from 13
// they normalise one axis. When the axis is the last one the two agree;
// otherwise (or when the rank is unknown and the axis is not -1) the old
// meaning is rebuilt as Flatten(axis) -> op(axis=-1) -> Reshape(Shape(x)),
// which holds for any rank.
func (c *converter) softmax13(n *Node, _ int64) error {
	axis := n.AttrInt("axis", 1)
	x := n.Inputs[0]
	last := axis == -1
	if x.HasShape {
		r := int64(len(x.Shape))
		last = axis == r-1 || axis == -1
		if axis < -r || axis >= r {
			return fmt.Errorf("axis %d out of range for rank %d", axis, r)
		}
	}
	if last {
		n.SetAttr(IntAttr("axis", axis))
		return nil
	}
	g := n.graph
	pos := g.Index(n)
	shape := g.NewOp(pos, "Shape", n.Name+"_shape", []*Value{x}, 1)
	shape.Outputs[0].DType = dtInt64
	flat := g.NewOp(pos+1, "Flatten", n.Name+"_flatten", []*Value{x}, 1, IntAttr("axis", axis))
	flat.Outputs[0].DType = x.DType
	n.SetInput(0, flat.Outputs[0])
	n.SetAttr(IntAttr("axis", -1))
	reshape := g.NewOp(g.Index(n)+1, "Reshape", n.Name+"_reshape", []*Value{nil, shape.Outputs[0]}, 1)
	// The Reshape takes over the node's output value (and so its name,
	// its readers and its place among the graph outputs); the node gets
	// the Reshape's fresh value.
	out, fresh := n.Outputs[0], reshape.Outputs[0]
	out.Producer, out.Index = reshape, 0
	fresh.Producer, fresh.Index = n, 0
	fresh.DType = out.DType
	if flat := flat.Outputs[0]; x.HasShape {
		fresh.Shape, fresh.HasShape = flattenDims(x.Shape, axis), true
		flat.Shape, flat.HasShape = fresh.Shape, true
	}
	n.Outputs[0], reshape.Outputs[0] = fresh, out
	reshape.SetInput(0, fresh)
	return nil
}

func flattenDims(shape []Dim, axis int64) []Dim {
	if axis < 0 {
		axis += int64(len(shape))
	}
	return []Dim{mulDims(shape[:axis]), mulDims(shape[axis:])}
}

// split13 moves the split attribute to input 1.
func (c *converter) split13(n *Node, _ int64) error {
	a := n.Attr("split")
	if a == nil {
		return nil
	}
	n.RemoveAttr("split")
	setInput(n, 1, intsInit(n.graph, n.Name+"_split", a.GetInts()))
	return nil
}

// split18: from 18 an equal split must say how many outputs it makes.
func (c *converter) split18(n *Node, _ int64) error {
	if len(n.Inputs) > 1 && n.Inputs[1] != nil {
		return nil
	}
	n.SetAttr(IntAttr("num_outputs", int64(len(n.Outputs))))
	return nil
}

// slice10 moves starts, ends and axes from attributes to inputs.
func (c *converter) slice10(n *Node, _ int64) error {
	starts, ends := n.Attr("starts"), n.Attr("ends")
	if starts == nil || ends == nil {
		return fmt.Errorf("Slice without starts/ends")
	}
	axes := n.Attr("axes")
	for _, name := range []string{"starts", "ends", "axes"} {
		n.RemoveAttr(name)
	}
	g := n.graph
	n.SetInputs([]*Value{n.Inputs[0], intsInit(g, n.Name+"_starts", starts.GetInts()), intsInit(g, n.Name+"_ends", ends.GetInts())})
	if axes != nil {
		n.SetInputs(append(n.Inputs, intsInit(g, n.Name+"_axes", axes.GetInts())))
	}
	return nil
}

// pad11 moves pads to input 1 and value to the constant_value input 2.
func (c *converter) pad11(n *Node, _ int64) error {
	pads := n.Attr("pads")
	if pads == nil {
		return fmt.Errorf("Pad without pads")
	}
	value := n.Attr("value")
	n.RemoveAttr("pads")
	n.RemoveAttr("value")
	g := n.graph
	n.SetInputs([]*Value{n.Inputs[0], intsInit(g, n.Name+"_pads", pads.GetInts())})
	if value != nil && value.GetF() != 0 {
		n.SetInputs(append(n.Inputs, scalarInit(g, n.Name+"_value", n.Inputs[0].DType, float64(value.GetF()))))
	}
	return nil
}

// batchNorm9 drops the spatial attribute (9 always normalises per channel).
func (c *converter) batchNorm9(n *Node, _ int64) error {
	if a := n.Attr("spatial"); a != nil {
		if a.GetI() != 1 {
			return fmt.Errorf("spatial=%d (per-activation statistics) has no equivalent from opset 9", a.GetI())
		}
		n.RemoveAttr("spatial")
	}
	return nil
}

// batchNorm14: the optional training outputs (running mean/var, saved
// mean/var) only exist in training mode from 14; inference models may list
// them unused, and they are dropped.
func (c *converter) batchNorm14(n *Node, _ int64) error {
	for _, v := range n.Outputs[1:] {
		if v != nil && (len(n.graph.Users(v)) > 0 || v.IsGraphOutput()) {
			return fmt.Errorf("training output %q is read; training-mode BatchNormalization is not converted", v.Name)
		}
	}
	for _, v := range n.Outputs[1:] {
		if v != nil && n.graph.values[v.Name] == v {
			delete(n.graph.values, v.Name)
		}
	}
	n.Outputs = n.Outputs[:1]
	return nil
}

// dropout12 moves ratio to an input (inference ignores it either way).
func (c *converter) dropout12(n *Node, _ int64) error {
	if a := n.Attr("ratio"); a != nil {
		n.RemoveAttr("ratio")
		setInput(n, 1, scalarInit(n.graph, n.Name+"_ratio", dtFloat, float64(a.GetF())))
	}
	return nil
}

// topK10 moves k to a 1-D int64 input.
func (c *converter) topK10(n *Node, _ int64) error {
	a := n.Attr("k")
	if a == nil {
		return fmt.Errorf("TopK without k")
	}
	n.RemoveAttr("k")
	setInput(n, 1, intsInit(n.graph, n.Name+"_k", []int64{a.GetI()}))
	return nil
}

// upsample9 moves scales from the attribute to input 1.
func (c *converter) upsample9(n *Node, _ int64) error {
	a := n.Attr("scales")
	if a == nil {
		return fmt.Errorf("Upsample without scales")
	}
	n.RemoveAttr("scales")
	t := newCTensor(dtFloat, []int64{int64(len(a.GetFloats()))})
	for i, f := range a.GetFloats() {
		t.F[i] = float64(f)
	}
	setInput(n, 1, n.graph.NewInitializer(n.Name+"_scales", t.toProto("")))
	return nil
}

// upsampleToResize: Upsample is deprecated at 10; Resize-10 has the same
// inputs (X, scales) and mode with the same meaning. The Resize adapters
// of later steps then apply.
func (c *converter) upsampleToResize(n *Node, _ int64) error {
	if n.AttrString("mode", "nearest") == "bilinear" {
		n.SetAttr(StringAttr("mode", "linear"))
	}
	n.Target.OpType = "Resize"
	return nil
}

// resize11: Resize-10 maps output to input coordinates as x_in = x_out /
// scale (asymmetric) and rounds nearest down; 11 makes both attributes and
// adds roi before scales.
func (c *converter) resize11(n *Node, _ int64) error {
	if len(n.Inputs) != 2 {
		return fmt.Errorf("Resize-10 with %d inputs", len(n.Inputs))
	}
	mode := n.AttrString("mode", "nearest")
	n.SetAttr(StringAttr("coordinate_transformation_mode", "asymmetric"))
	if mode == "nearest" {
		n.SetAttr(StringAttr("nearest_mode", "floor"))
	}
	roi := n.graph.NewInitializer(n.Name+"_roi", newCTensor(dtFloat, []int64{0}).toProto(""))
	n.SetInputs([]*Value{n.Inputs[0], roi, n.Inputs[1]})
	return nil
}

func (c *converter) unsupported(n *Node, to int64) error {
	return fmt.Errorf("no adapter for the change of %s at opset %d", n.Target.OpType, to)
}
