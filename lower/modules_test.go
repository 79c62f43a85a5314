package lower_test

import (
	"reflect"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

func TestModuleStackFromTorchNodeNames(t *testing.T) {
	cases := map[string][]string{
		"/layer1/layer1.0/conv1/Conv":      {"layer1", "layer1.0", "layer1.0.conv1"},
		"/slow/conv1/Conv":                 {"slow", "slow.conv1"},
		"/features/features.3/block/Add_1": {"features", "features.3", "features.3.block"},
		"/Flatten":                         nil,
		"Conv_12":                          nil,
		"":                                 nil,
	}
	for name, want := range cases {
		if got := lower.ModuleStackFromName(name); !reflect.DeepEqual(got, want) {
			t.Errorf("%q: got %v, want %v", name, got, want)
		}
	}
}

// Newer exporters write the module scopes and classes into node metadata;
// those win over the node name.
func TestModuleStackAndTypesFromNodeMetadata(t *testing.T) {
	node := &onnxpb.NodeProto{
		Name: proto.String("node_conv2d_3"), OpType: proto.String("Relu"), Input: []string{"x"}, Output: []string{"y"},
		MetadataProps: []*onnxpb.StringStringEntryProto{
			{Key: proto.String("pkg.torch.onnx.name_scopes"), Value: proto.String("['', 'encoder', 'layers.0', 'act']")},
			{Key: proto.String("pkg.torch.onnx.class_hierarchy"), Value: proto.String("['Net', 'torch.nn.modules.container.Sequential', 'Block', 'torch.nn.modules.activation.ReLU']")},
		},
	}
	m := &onnxpb.ModelProto{
		IrVersion:   proto.Int64(10),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Version: proto.Int64(18)}},
		Graph: &onnxpb.GraphProto{
			Node:   []*onnxpb.NodeProto{node},
			Input:  []*onnxpb.ValueInfoProto{{Name: proto.String("x")}},
			Output: []*onnxpb.ValueInfoProto{{Name: proto.String("y")}},
		},
	}
	gm, err := lower.Lower(m, "")
	if err != nil {
		t.Fatal(err)
	}
	var relu *lower.Node
	for _, n := range gm.Graph.Nodes {
		if n.Target.OpType == "Relu" {
			relu = n
		}
	}
	wantStack := []string{"encoder", "encoder.layers.0", "encoder.layers.0.act"}
	wantTypes := []string{"torch.nn.modules.container.Sequential", "Block", "torch.nn.modules.activation.ReLU"}
	if !reflect.DeepEqual(relu.Meta.ModuleStack, wantStack) || !reflect.DeepEqual(relu.Meta.ModuleTypes, wantTypes) {
		t.Fatalf("stack %v types %v, want %v %v", relu.Meta.ModuleStack, relu.Meta.ModuleTypes, wantStack, wantTypes)
	}
	if relu.Meta.Module() != "encoder.layers.0.act" {
		t.Fatalf("Module() = %q", relu.Meta.Module())
	}
}
