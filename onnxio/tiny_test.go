package onnxio_test

import (
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// Hand-built models for error and fuzz tests: small enough to reason about.

func valueInfo(name string) *onnxpb.ValueInfoProto {
	return &onnxpb.ValueInfoProto{Name: proto.String(name)}
}

// tinyModel is y = Add(x, w) with w an initializer, opset 13.
func tinyModel() *onnxpb.ModelProto {
	return &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}},
		Graph: &onnxpb.GraphProto{
			Name:        proto.String("tiny"),
			Input:       []*onnxpb.ValueInfoProto{valueInfo("x")},
			Initializer: []*onnxpb.TensorProto{testmodel.Float32s("w", []int64{2}, 1, 2)},
			Node:        []*onnxpb.NodeProto{testmodel.NamedNode("add0", "Add", []string{"x", "w"}, []string{"y"})},
			Output:      []*onnxpb.ValueInfoProto{valueInfo("y")},
		},
	}
}

// ifModel wraps a then/else body that reads the given names.
func ifModel(thenReads, elseReads string) *onnxpb.ModelProto {
	m := tinyModel()
	body := func(name, reads string) *onnxpb.GraphProto {
		return &onnxpb.GraphProto{
			Name:   proto.String(name),
			Node:   []*onnxpb.NodeProto{testmodel.NamedNode(name+"_id", "Identity", []string{reads}, []string{name + "_out"})},
			Output: []*onnxpb.ValueInfoProto{valueInfo(name + "_out")},
		}
	}
	ifNode := testmodel.NamedNode("if0", "If", []string{"cond"}, []string{"z"})
	ifNode.Attribute = []*onnxpb.AttributeProto{
		{Name: proto.String("then_branch"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: body("then", thenReads)},
		{Name: proto.String("else_branch"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: body("else", elseReads)},
	}
	m.Graph.Input = append(m.Graph.Input, valueInfo("cond"))
	m.Graph.Node = append(m.Graph.Node, ifNode)
	m.Graph.Output = append(m.Graph.Output, valueInfo("z"))
	return m
}

// writeModel saves pb as dir/name via Write and returns the path.
func writeModel(t *testing.T, dir, name string, pb *onnxpb.ModelProto) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := (&onnxio.Model{Proto: pb}).Write(f); err != nil {
		t.Fatal(err)
	}
	return path
}
