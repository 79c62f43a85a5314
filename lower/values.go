package lower

import (
	"encoding/binary"
	"math"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// The one way every package asks what a graph value is. Passes, the
// annotator, the legality rules and the interpreter's specialisation used
// to carry their own copies of these questions, and the copies drifted
// (one read only a Constant's `value` attribute, another did not look
// through body captures); keep new questions here.

// Scope says how far IsInitializer looks.
type Scope int

const (
	// ThisGraph: only an initializer of the value's own graph.
	ThisGraph Scope = iota
	// EnclosingGraphs: also an initializer of an enclosing graph that a
	// body reads through a capture.
	EnclosingGraphs
)

// IsInitializer reports whether v is an initializer. An initializer the
// model also lists as a graph input (Node.AlsoInput) counts: it holds
// weights all the same, though Constant does not treat it as fixed.
func (v *Value) IsInitializer(scope Scope) bool {
	if scope == EnclosingGraphs {
		v = v.Source()
	}
	return v != nil && v.Producer != nil && v.Producer.Op == GetAttr
}

// IsGraphOutput reports whether v is returned by its own graph.
func (v *Value) IsGraphOutput() bool {
	if v == nil || v.Producer == nil || v.Producer.graph == nil {
		return false
	}
	out := v.Producer.graph.OutputNode()
	return out != nil && slices.Contains(out.Inputs, v)
}

// Constant returns the tensor behind v when v holds a value fixed in the
// model: an initializer that is not also an (overridable) graph input, the
// output of a default-domain Constant node in any of its attribute forms,
// or a body capture of either. dir resolves external data.
func (v *Value) Constant() (t *onnxpb.TensorProto, dir string, ok bool) {
	v = v.Source()
	if v == nil || v.Producer == nil {
		return nil, "", false
	}
	p := v.Producer
	if p.graph != nil && p.graph.Module != nil {
		dir = p.graph.Module.Root().Dir
	}
	switch {
	case p.Op == GetAttr && !p.AlsoInput:
		return p.Initializer, dir, p.Initializer != nil
	case p.Op == CallFunction && p.Target.OpType == "Constant" && isDefaultDomain(p.Target.Domain):
		t := ConstantNodeTensor(p)
		return t, dir, t != nil
	}
	return nil, "", false
}

// ConstantInts returns the values of an integer (or bool) constant.
func (v *Value) ConstantInts() ([]int64, bool) {
	t, dir, ok := v.Constant()
	if !ok {
		return nil, false
	}
	out, err := onnxio.Int64s(t, dir)
	return out, err == nil
}

// ConstantFloats returns the values and dims of a float32 constant.
func (v *Value) ConstantFloats() ([]float32, []int64, bool) {
	t, dir, ok := v.Constant()
	if !ok || t.GetDataType() != dtFloat {
		return nil, nil, false
	}
	f, err := onnxio.Float32s(t, dir)
	if err != nil {
		return nil, nil, false
	}
	return f, t.GetDims(), true
}

// ConstantNodeTensor returns the tensor a Constant node produces from
// whichever of its value attributes it has (value, value_float(s),
// value_int(s)), or nil for the forms that hold no dense numeric tensor
// (sparse_value, value_string(s)).
func ConstantNodeTensor(n *Node) *onnxpb.TensorProto {
	for _, a := range n.Attrs {
		switch a.GetName() {
		case "value":
			return a.GetT()
		case "value_float":
			return floatProto(nil, []float32{a.GetF()})
		case "value_floats":
			return floatProto([]int64{int64(len(a.GetFloats()))}, a.GetFloats())
		case "value_int":
			return int64Proto(nil, []int64{a.GetI()})
		case "value_ints":
			return int64Proto([]int64{int64(len(a.GetInts()))}, a.GetInts())
		}
	}
	return nil
}

// floatProto and int64Proto encode as raw little-endian data, the form
// constant folding writes, so a folded Constant node's initializer has the
// same bytes whichever attribute form the exporter chose.
func floatProto(dims []int64, f []float32) *onnxpb.TensorProto {
	raw := make([]byte, 4*len(f))
	for i, x := range f {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(x))
	}
	return &onnxpb.TensorProto{Dims: dims, DataType: proto.Int32(dtFloat), RawData: raw}
}

func int64Proto(dims []int64, v []int64) *onnxpb.TensorProto {
	raw := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(x))
	}
	return &onnxpb.TensorProto{Dims: dims, DataType: proto.Int32(dtInt64), RawData: raw}
}
