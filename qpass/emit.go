package qpass

import (
	"fmt"

	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// emitter builds the replacement of one node: every op goes right before
// the anchor node, so the new nodes sit where the old one was and the graph
// stays topologically ordered. Operators are written in the form of the
// opset the graph binds to (ReduceMean axes as an attribute before 18, as
// an input from 18, and so on).
type emitter struct {
	g      *lower.Graph
	anchor *lower.Node
	base   string
	opset  int64
	n      int
}

func newEmitter(anchor *lower.Node) *emitter {
	g := anchor.Graph()
	base := anchor.Meta.SourceName
	if base == "" {
		base = anchor.Name
	}
	return &emitter{g: g, anchor: anchor, base: base, opset: g.Module.Opset("")}
}

func (e *emitter) name(suffix string) string {
	e.n++
	return fmt.Sprintf("%s/%s_%d", e.base, suffix, e.n)
}

// op adds a one-output node and returns its output.
func (e *emitter) op(opType string, inputs []*lower.Value, attrs ...*onnxpb.AttributeProto) *lower.Value {
	return e.opN(opType, inputs, 1, attrs...)[0]
}

func (e *emitter) opN(opType string, inputs []*lower.Value, nOut int, attrs ...*onnxpb.AttributeProto) []*lower.Value {
	n := e.g.NewOp(e.g.Index(e.anchor), opType, e.name(opType), inputs, nOut, attrs...)
	n.Meta.ModuleStack = e.anchor.Meta.ModuleStack
	n.Meta.ModuleTypes = e.anchor.Meta.ModuleTypes
	return n.Outputs
}

// floats adds a float32 initializer.
func (e *emitter) floats(suffix string, dims []int64, data []float32) *lower.Value {
	return e.g.NewInitializer(e.name(suffix), floatTensor(dims, data))
}

// ints adds an int64 initializer.
func (e *emitter) ints(suffix string, dims []int64, data []int64) *lower.Value {
	return e.g.NewInitializer(e.name(suffix), int64Tensor(dims, data))
}

// scalar adds a float constant shaped [1,...,1] of the given rank so it
// broadcasts without changing the other operand's shape and is observed as
// a tensor.
func (e *emitter) scalar(suffix string, v float32, rank int) *lower.Value {
	return e.floats(suffix, ones(rank), []float32{v})
}

// reduce emits ReduceMean/ReduceSum/ReduceMax with keepdims=1 over axes.
func (e *emitter) reduce(opType string, x *lower.Value, axes []int64) *lower.Value {
	keep := lower.IntAttr("keepdims", 1)
	inputAxes := e.opset >= 18 || (opType == "ReduceSum" && e.opset >= 13)
	if inputAxes {
		return e.op(opType, []*lower.Value{x, e.ints("axes", []int64{int64(len(axes))}, axes)}, keep)
	}
	return e.op(opType, []*lower.Value{x}, lower.IntsAttr("axes", axes...), keep)
}

// split emits Split of x along axis into parts of the given sizes.
func (e *emitter) split(x *lower.Value, axis int64, sizes []int64) []*lower.Value {
	if len(sizes) == 1 {
		return []*lower.Value{x}
	}
	ax := lower.IntAttr("axis", axis)
	if e.opset >= 13 {
		return e.opN("Split", []*lower.Value{x, e.ints("split", []int64{int64(len(sizes))}, sizes)}, len(sizes), ax)
	}
	return e.opN("Split", []*lower.Value{x}, len(sizes), ax, lower.IntsAttr("split", sizes...))
}

// unsqueeze emits Unsqueeze of x at axes.
func (e *emitter) unsqueeze(x *lower.Value, axes ...int64) *lower.Value {
	if e.opset >= 13 {
		return e.op("Unsqueeze", []*lower.Value{x, e.ints("axes", []int64{int64(len(axes))}, axes)})
	}
	return e.op("Unsqueeze", []*lower.Value{x}, lower.IntsAttr("axes", axes...))
}

// replace makes v's producer produce the anchor's output i instead of v,
// so the output keeps its name (graph outputs and value_info stay put).
func (e *emitter) replace(i int, v *lower.Value) {
	if i >= len(e.anchor.Outputs) || e.anchor.Outputs[i] == nil {
		return
	}
	e.g.Adopt(e.anchor.Outputs[i], v)
}

// done removes the anchor once its outputs have been replaced; its
// orphaned inputs are left to dead-code elimination.
func (e *emitter) done() { e.g.RemoveNode(e.anchor) }
