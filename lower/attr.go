package lower

import (
	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// Attr returns the attribute called name, or nil.
func (n *Node) Attr(name string) *onnxpb.AttributeProto {
	for _, a := range n.Attrs {
		if a.GetName() == name {
			return a
		}
	}
	return nil
}

// HasAttr reports whether the node sets the attribute.
func (n *Node) HasAttr(name string) bool { return n.Attr(name) != nil }

// AttrInt returns an INT attribute, or def when absent.
func (n *Node) AttrInt(name string, def int64) int64 {
	if a := n.Attr(name); a != nil {
		return a.GetI()
	}
	return def
}

// AttrFloat returns a FLOAT attribute, or def when absent.
func (n *Node) AttrFloat(name string, def float32) float32 {
	if a := n.Attr(name); a != nil {
		return a.GetF()
	}
	return def
}

// AttrString returns a STRING attribute, or def when absent.
func (n *Node) AttrString(name, def string) string {
	if a := n.Attr(name); a != nil {
		return string(a.GetS())
	}
	return def
}

// AttrInts returns an INTS attribute, or def when absent.
func (n *Node) AttrInts(name string, def []int64) []int64 {
	if a := n.Attr(name); a != nil {
		return a.GetInts()
	}
	return def
}

// AttrFloats returns a FLOATS attribute, or def when absent.
func (n *Node) AttrFloats(name string, def []float32) []float32 {
	if a := n.Attr(name); a != nil {
		return a.GetFloats()
	}
	return def
}

// AttrStrings returns a STRINGS attribute, or def when absent.
func (n *Node) AttrStrings(name string, def []string) []string {
	a := n.Attr(name)
	if a == nil {
		return def
	}
	out := make([]string, len(a.GetStrings()))
	for i, s := range a.GetStrings() {
		out[i] = string(s)
	}
	return out
}

// AttrTensor returns a TENSOR attribute, or nil.
func (n *Node) AttrTensor(name string) *onnxpb.TensorProto {
	if a := n.Attr(name); a != nil {
		return a.GetT()
	}
	return nil
}

// SetAttr replaces or appends an attribute.
func (n *Node) SetAttr(a *onnxpb.AttributeProto) {
	for i, old := range n.Attrs {
		if old.GetName() == a.GetName() {
			n.Attrs[i] = a
			return
		}
	}
	n.Attrs = append(n.Attrs, a)
}

// RemoveAttr deletes an attribute if present.
func (n *Node) RemoveAttr(name string) {
	for i, a := range n.Attrs {
		if a.GetName() == name {
			n.Attrs = append(n.Attrs[:i:i], n.Attrs[i+1:]...)
			return
		}
	}
}

// IntAttr builds an INT attribute.
func IntAttr(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

// IntsAttr builds an INTS attribute.
func IntsAttr(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
}

// FloatAttr builds a FLOAT attribute.
func FloatAttr(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

// StringAttr builds a STRING attribute.
func StringAttr(name, v string) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte(v)}
}

// TensorAttr builds a TENSOR attribute.
func TensorAttr(name string, t *onnxpb.TensorProto) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_TENSOR.Enum(), T: t}
}
