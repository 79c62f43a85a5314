package lower

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// Raise turns the GraphModule back into an ONNX model. Model-level fields
// (IR version, opset imports, producer, metadata, functions) come from the
// loaded model; nodes keep their names, doc strings and metadata. The
// loaded model is not modified.
func Raise(gm *GraphModule) (*onnxpb.ModelProto, error) {
	return RaiseWith(gm, RaiseOptions{})
}

// RaiseOptions change what Raise writes beyond the loaded model's content.
type RaiseOptions struct {
	// ValueInfo declares the dtype and shape of every value a node makes
	// (in every body too) that inference sized, so viewers such as Netron
	// show them and runtimes need not infer them again.
	ValueInfo bool
}

// RaiseWith is Raise with options.
func RaiseWith(gm *GraphModule, opts RaiseOptions) (*onnxpb.ModelProto, error) {
	if gm.Model == nil {
		return nil, fmt.Errorf("raise: %q is not a top-level GraphModule", gm.Name)
	}
	m := shallowModel(gm.Model)
	g, err := raiseGraph(gm, opts)
	if err != nil {
		return nil, err
	}
	m.Graph = g
	return m, nil
}

// shallowModel copies the model's own fields and shares its children, so
// the graph can be replaced without touching the original.
func shallowModel(src *onnxpb.ModelProto) *onnxpb.ModelProto {
	m := &onnxpb.ModelProto{
		IrVersion:       src.IrVersion,
		OpsetImport:     src.OpsetImport,
		ProducerName:    src.ProducerName,
		ProducerVersion: src.ProducerVersion,
		Domain:          src.Domain,
		ModelVersion:    src.ModelVersion,
		DocString:       src.DocString,
		MetadataProps:   src.MetadataProps,
		TrainingInfo:    src.TrainingInfo,
		Functions:       src.Functions,
	}
	m.ProtoReflect().SetUnknown(src.ProtoReflect().GetUnknown())
	return m
}

func raiseGraph(gm *GraphModule, opts RaiseOptions) (*onnxpb.GraphProto, error) {
	g := gm.Graph
	src := g.Proto
	if src == nil {
		src = &onnxpb.GraphProto{Name: proto.String(gm.Name)}
	}
	out := &onnxpb.GraphProto{
		Name:                   src.Name,
		DocString:              src.DocString,
		QuantizationAnnotation: src.QuantizationAnnotation,
		MetadataProps:          src.MetadataProps,
	}
	out.ProtoReflect().SetUnknown(src.ProtoReflect().GetUnknown())

	// Inputs keep their loaded order; inputs added by passes follow.
	listed := map[string]bool{}
	addInput := func(v *Value) {
		listed[v.Name] = true
		out.Input = append(out.Input, valueInfo(v))
	}
	for _, name := range g.inputOrder {
		v := g.values[name]
		if v == nil || v.Producer == nil {
			continue
		}
		p := v.Producer
		if (p.Op == Placeholder && !p.Capture) || (p.Op == GetAttr && p.AlsoInput) {
			addInput(v)
		}
	}
	for _, n := range g.Nodes {
		if err := gm.Interrupted(); err != nil {
			return nil, err
		}
		switch n.Op {
		case Placeholder:
			if !n.Capture && !listed[n.Outputs[0].Name] {
				addInput(n.Outputs[0])
			}
		case GetAttr:
			t := n.Initializer
			if t.GetName() != n.Outputs[0].Name {
				t = proto.Clone(t).(*onnxpb.TensorProto)
				t.Name = proto.String(n.Outputs[0].Name)
			}
			out.Initializer = append(out.Initializer, t)
			if n.AlsoInput && !listed[n.Outputs[0].Name] {
				addInput(n.Outputs[0])
			}
		case CallFunction, CallModule:
			np, err := raiseNode(gm, n, opts)
			if err != nil {
				return nil, err
			}
			out.Node = append(out.Node, np)
		case Output:
			for _, v := range n.Inputs {
				out.Output = append(out.Output, valueInfo(v))
			}
		}
	}
	// value_info: what was declared and still exists, in its loaded order.
	declared := map[string]bool{}
	for _, vi := range src.ValueInfo {
		if v := g.values[vi.GetName()]; v != nil && v.Producer != nil {
			out.ValueInfo = append(out.ValueInfo, valueInfo(v))
			declared[vi.GetName()] = true
		}
	}
	if opts.ValueInfo {
		for _, vi := range out.Output {
			declared[vi.GetName()] = true
		}
		for _, n := range g.Nodes {
			if n.Op != CallFunction && n.Op != CallModule {
				continue
			}
			for _, v := range n.Outputs {
				if v == nil || declared[v.Name] || v.DType == 0 || !v.HasShape {
					continue
				}
				declared[v.Name] = true
				out.ValueInfo = append(out.ValueInfo, valueInfo(v))
			}
		}
	}
	return out, nil
}

func raiseNode(gm *GraphModule, n *Node, opts RaiseOptions) (*onnxpb.NodeProto, error) {
	np := &onnxpb.NodeProto{}
	if n.Proto != nil {
		np.Name = n.Proto.Name
		np.DocString = n.Proto.DocString
		np.Overload = n.Proto.Overload
		np.MetadataProps = n.Proto.MetadataProps
		np.Domain = n.Proto.Domain
		np.ProtoReflect().SetUnknown(n.Proto.ProtoReflect().GetUnknown())
	} else {
		np.Name = proto.String(n.Meta.SourceName)
		if n.Meta.SourceName == "" {
			np.Name = proto.String(n.Name)
		}
		if n.Target.Domain != "" {
			np.Domain = proto.String(n.Target.Domain)
		}
	}
	if n.Proto == nil || n.Proto.GetDomain() != n.Target.Domain {
		np.Domain = nil
		if n.Target.Domain != "" {
			np.Domain = proto.String(n.Target.Domain)
		}
	}
	np.OpType = proto.String(n.Target.OpType)
	for _, v := range n.Inputs {
		if v == nil {
			np.Input = append(np.Input, "")
		} else {
			np.Input = append(np.Input, v.Name)
		}
	}
	for _, v := range n.Outputs {
		if v == nil {
			np.Output = append(np.Output, "")
		} else {
			np.Output = append(np.Output, v.Name)
		}
	}
	for _, a := range n.Attrs {
		if a.GetType() != onnxpb.AttributeProto_GRAPH {
			np.Attribute = append(np.Attribute, a)
			continue
		}
		body := n.Body(a.GetName())
		if body == nil {
			return nil, fmt.Errorf("node %q (%s): graph attribute %q has no submodule", n.Name, n.Target.OpType, a.GetName())
		}
		g, err := raiseGraph(body, opts)
		if err != nil {
			return nil, err
		}
		ra := &onnxpb.AttributeProto{Name: a.Name, Type: a.Type, DocString: a.DocString, G: g}
		np.Attribute = append(np.Attribute, ra)
	}
	return np, nil
}

// Body returns the submodule held in the node's graph attribute, or nil.
func (n *Node) Body(attr string) *GraphModule {
	for _, b := range n.Bodies {
		if b.Attr == attr {
			return n.graph.Module.Submodules[b.Module]
		}
	}
	return nil
}

// valueInfo returns the declared ValueInfoProto of v when it still says
// what v is, else a fresh one from v's dtype and shape.
func valueInfo(v *Value) *onnxpb.ValueInfoProto {
	if v.Info != nil && v.Info.GetName() == v.Name && infoMatches(v.Info, v) {
		return v.Info
	}
	vi := &onnxpb.ValueInfoProto{Name: proto.String(v.Name)}
	if v.Info != nil {
		vi.DocString = v.Info.DocString
		vi.MetadataProps = v.Info.MetadataProps
	}
	if v.DType == 0 && !v.HasShape {
		if v.Info != nil {
			vi.Type = v.Info.Type
		}
		return vi
	}
	tt := &onnxpb.TypeProto_Tensor{}
	if v.DType != 0 {
		tt.ElemType = proto.Int32(v.DType)
	}
	if v.HasShape {
		sh := &onnxpb.TensorShapeProto{Dim: []*onnxpb.TensorShapeProto_Dimension{}}
		for _, d := range v.Shape {
			dim := &onnxpb.TensorShapeProto_Dimension{}
			switch {
			case d.Param != "":
				dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: d.Param}
			case d.Value >= 0:
				dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d.Value}
			}
			sh.Dim = append(sh.Dim, dim)
		}
		tt.Shape = sh
	}
	vi.Type = &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: tt}}
	return vi
}

// infoMatches reports whether a declared ValueInfoProto still describes v.
func infoMatches(vi *onnxpb.ValueInfoProto, v *Value) bool {
	probe := &Value{}
	setType(probe, vi)
	if vi.GetType().GetTensorType() == nil {
		return v.DType == 0 && !v.HasShape
	}
	if probe.DType != v.DType || probe.HasShape != v.HasShape || len(probe.Shape) != len(v.Shape) {
		return false
	}
	for i := range probe.Shape {
		if probe.Shape[i] != v.Shape[i] {
			return false
		}
	}
	return true
}
