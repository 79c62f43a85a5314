package lower

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// Emitter builds the replacement of one node: every op goes right before
// the anchor node, so the new nodes sit where the old one was and the
// graph stays topologically ordered. Operators are written in the form of
// Opset, which need not be the opset the graph binds to yet: an opset
// conversion emits the target's form (ReduceMean axes as an attribute
// before 18, as an input from 18) before it moves the model's import.
type Emitter struct {
	g      *Graph
	anchor *Node
	base   string
	// Opset is the default-domain opset whose operator forms are written.
	Opset int64
	n     int
}

// NewEmitter starts the replacement of anchor written for opset.
func NewEmitter(anchor *Node, opset int64) *Emitter {
	base := anchor.Meta.SourceName
	if base == "" {
		base = anchor.Name
	}
	return &Emitter{g: anchor.graph, anchor: anchor, base: base, Opset: opset}
}

func (e *Emitter) name(suffix string) string {
	e.n++
	return fmt.Sprintf("%s/%s_%d", e.base, suffix, e.n)
}

// Op adds a one-output node and returns its output.
func (e *Emitter) Op(opType string, inputs []*Value, attrs ...*onnxpb.AttributeProto) *Value {
	return e.OpN(opType, inputs, 1, attrs...)[0]
}

// OpN adds a node with nOut outputs and returns them. The node inherits
// the anchor's module stack, so module-scoped quantization configs still
// reach it.
func (e *Emitter) OpN(opType string, inputs []*Value, nOut int, attrs ...*onnxpb.AttributeProto) []*Value {
	n := e.g.NewOp(e.g.Index(e.anchor), opType, e.name(opType), inputs, nOut, attrs...)
	n.Meta.ModuleStack = e.anchor.Meta.ModuleStack
	n.Meta.ModuleTypes = e.anchor.Meta.ModuleTypes
	return n.Outputs
}

// Floats adds a float32 initializer.
func (e *Emitter) Floats(suffix string, dims []int64, data []float32) *Value {
	t := &onnxpb.TensorProto{Dims: append([]int64{}, dims...), DataType: proto.Int32(dtFloat), FloatData: data}
	return e.g.NewInitializer(e.name(suffix), t)
}

// Ints adds an int64 initializer.
func (e *Emitter) Ints(suffix string, dims []int64, data []int64) *Value {
	t := &onnxpb.TensorProto{Dims: append([]int64{}, dims...), DataType: proto.Int32(dtInt64), Int64Data: data}
	return e.g.NewInitializer(e.name(suffix), t)
}

// Scalar adds a float constant shaped [1,...,1] of the given rank, so it
// broadcasts without changing the other operand's shape and a quantizer
// observes it as a tensor.
func (e *Emitter) Scalar(suffix string, v float32, rank int) *Value {
	return e.Floats(suffix, onesDims(rank), []float32{v})
}

// Reduce emits a keepdims=1 reduction (ReduceMean, ReduceSum, ReduceMax...)
// over axes, with the axes as an attribute or an input as Opset requires.
func (e *Emitter) Reduce(opType string, x *Value, axes []int64) *Value {
	keep := IntAttr("keepdims", 1)
	if e.Opset >= 18 || (opType == "ReduceSum" && e.Opset >= 13) {
		return e.Op(opType, []*Value{x, e.Ints("axes", []int64{int64(len(axes))}, axes)}, keep)
	}
	return e.Op(opType, []*Value{x}, IntsAttr("axes", axes...), keep)
}

// Replace makes v's producer produce the anchor's output i instead of v,
// so the output keeps its name (graph outputs, value_info and body
// captures stay put).
func (e *Emitter) Replace(i int, v *Value) {
	if i >= len(e.anchor.Outputs) || e.anchor.Outputs[i] == nil {
		return
	}
	e.g.Adopt(e.anchor.Outputs[i], v)
}

// Split emits Split of x along axis into parts of the given sizes.
func (e *Emitter) Split(x *Value, axis int64, sizes []int64) []*Value {
	if len(sizes) == 1 {
		return []*Value{x}
	}
	ax := IntAttr("axis", axis)
	if e.Opset >= 13 {
		return e.OpN("Split", []*Value{x, e.Ints("split", []int64{int64(len(sizes))}, sizes)}, len(sizes), ax)
	}
	return e.OpN("Split", []*Value{x}, len(sizes), ax, IntsAttr("split", sizes...))
}

// Unsqueeze emits Unsqueeze of x at axes.
func (e *Emitter) Unsqueeze(x *Value, axes ...int64) *Value {
	if e.Opset >= 13 {
		return e.Op("Unsqueeze", []*Value{x, e.Ints("axes", []int64{int64(len(axes))}, axes)})
	}
	return e.Op("Unsqueeze", []*Value{x}, IntsAttr("axes", axes...))
}

// Done removes the anchor once its outputs have been replaced; its
// orphaned inputs are left to dead-code elimination.
func (e *Emitter) Done() { e.g.RemoveNode(e.anchor) }

// onesDims returns n ones, the dims of a broadcastable constant.
func onesDims(n int) []int64 {
	d := make([]int64, n)
	for i := range d {
		d[i] = 1
	}
	return d
}
