package ethosu_test

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
	"github.com/onnxquant/onnxquant/qpass"
)

func refAttr(name, ref string, typ onnxpb.AttributeProto_AttributeType) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), RefAttrName: proto.String(ref), Type: typ.Enum()}
}

func fnNode(name, op, domain string, in, out []string, attrs ...*onnxpb.AttributeProto) *onnxpb.NodeProto {
	return &onnxpb.NodeProto{Name: proto.String(name), OpType: proto.String(op), Domain: proto.String(domain), Input: in, Output: out, Attribute: attrs}
}

// functionModel is what torch's export_modules_as_functions writes: the
// main graph calls my.blocks.Block twice ("block1", "block2"); Block calls
// my.blocks.ConvRelu twice ("conv1", "conv2", pads bound from the call's
// attribute) and ends in a LeakyRelu whose slope refers to Block's
// attribute "slope" (default 0.1, block2 passes 0.3).
func functionModel() *testmodel.Builder {
	b := testmodel.New(17).Input("x", 1, 2, 8, 8).Output("y", 1, 2, 8, 8)
	for _, blk := range []string{"b1", "b2"} {
		for _, c := range []string{"c1", "c2"} {
			b.Init(blk+c, []int64{2, 2, 3, 3}, testmodel.Ramp(uint64(len(blk+c))*7+uint64(blk[1])+uint64(c[1])*3, 36, -0.5, 0.5)...)
		}
	}
	pads := lower.IntsAttr("pads", 1, 1, 1, 1)
	b.Graph().Node = append(b.Graph().Node,
		fnNode("block1", "Block", "my.blocks", []string{"x", "b1c1", "b1c2"}, []string{"h"}),
		fnNode("block2", "Block", "my.blocks", []string{"h", "b2c1", "b2c2"}, []string{"y"}, lower.FloatAttr("slope", 0.3)))
	convRelu := &onnxpb.FunctionProto{Name: proto.String("ConvRelu"), Domain: proto.String("my.blocks"),
		Input: []string{"x", "w"}, Output: []string{"y"}, Attribute: []string{"pads"},
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(17)}},
		Node: []*onnxpb.NodeProto{
			fnNode("conv", "Conv", "", []string{"x", "w"}, []string{"c"}, refAttr("pads", "pads", onnxpb.AttributeProto_INTS)),
			fnNode("relu", "Relu", "", []string{"c"}, []string{"y"}),
		}}
	slope := lower.FloatAttr("slope", 0.1)
	block := &onnxpb.FunctionProto{Name: proto.String("Block"), Domain: proto.String("my.blocks"),
		Input: []string{"x", "w1", "w2"}, Output: []string{"y"}, AttributeProto: []*onnxpb.AttributeProto{slope},
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(17)}, {Domain: proto.String("my.blocks"), Version: proto.Int64(1)}},
		Node: []*onnxpb.NodeProto{
			fnNode("conv1", "ConvRelu", "my.blocks", []string{"x", "w1"}, []string{"a"}, pads),
			fnNode("conv2", "ConvRelu", "my.blocks", []string{"a", "w2"}, []string{"b"}, pads),
			fnNode("act", "LeakyRelu", "", []string{"b"}, []string{"y"}, refAttr("alpha", "slope", onnxpb.AttributeProto_FLOAT)),
		}}
	b.Function(convRelu).Function(block)
	return b
}

// TestFunctionsAreInlinedAsModules lowers a model with nested function
// calls: the inlined nodes carry the call sites as their module path and
// the functions as module types, attributes are bound, the lowered model
// runs like the original in ONNX Runtime, and set_module_name and
// set_module_type select exactly the nodes of one call.
func TestFunctionsAreInlinedAsModules(t *testing.T) {
	b := functionModel()
	gm, err := lower.Lower(b.Model(), "")
	if err != nil {
		t.Fatal(err)
	}
	var convs, acts int
	for _, n := range gm.Graph.Nodes {
		if n.Op != lower.CallFunction {
			continue
		}
		if n.Target.Domain != "" {
			t.Errorf("node %s (%s.%s) was not inlined", n.Name, n.Target.Domain, n.Target.OpType)
		}
		switch n.Target.OpType {
		case "Conv":
			convs++
			if len(n.Meta.ModuleStack) != 2 || !slices.Equal(n.Meta.ModuleTypes, []string{"my.blocks.Block", "my.blocks.ConvRelu"}) {
				t.Errorf("%s: modules %v types %v", n.Name, n.Meta.ModuleStack, n.Meta.ModuleTypes)
			}
			if !slices.Equal(n.AttrInts("pads", nil), []int64{1, 1, 1, 1}) {
				t.Errorf("%s: pads %v, want the call's [1 1 1 1]", n.Name, n.AttrInts("pads", nil))
			}
		case "LeakyRelu":
			acts++
			want := map[string]float32{"block1": 0.1, "block2": 0.3}[n.Meta.Module()]
			if got := n.AttrFloat("alpha", -1); got != want {
				t.Errorf("%s in %q: alpha %v, want %v", n.Name, n.Meta.Module(), got, want)
			}
		}
	}
	if convs != 4 || acts != 2 {
		t.Fatalf("%d Convs and %d LeakyRelus after inlining, want 4 and 2", convs, acts)
	}
	wantStack := []string{"block2", "block2.conv1"}
	found := false
	for _, n := range gm.Graph.Nodes {
		found = found || n.Target.OpType == "Conv" && slices.Equal(n.Meta.ModuleStack, wantStack)
	}
	if !found {
		t.Errorf("no Conv has module path %v", wantStack)
	}

	// Inlining itself is exact: the lowered model raised back runs like
	// the original (with its functions) in ONNX Runtime.
	raised, err := lower.Raise(gm)
	if err != nil {
		t.Fatal(err)
	}
	if len(raised.Functions) != 0 {
		t.Errorf("the raised model still has %d functions", len(raised.Functions))
	}
	runsInReference(t, raised, b, 1e-5)

	// The check input is not a calibration sample, and the int8 output
	// clips where it exceeds the calibrated range: the quantized runs are
	// compared loosely, the targeting exactly.
	samples := writeSamples(t, b, 16)
	q := ethosu.NewEthosUQuantizer(ethosu.MustCompileSpec("ethos-u85-256")).
		SetModuleName("block2.conv1", qpass.SymmetricA16W8(true, false))
	res, err := quantizeGraph(t, q, b.Model(), samples)
	if err != nil {
		t.Fatal(err)
	}
	runsInReference(t, res.Model, b, 0.15)
	ix := indexGraph(res.Model.Graph)
	for _, conv := range ix.byOpType["Conv"] {
		in := ix.nodes[conv.Input[0]]
		if in == nil || in.GetOpType() != "DequantizeLinear" {
			t.Fatalf("Conv %s input is not dequantized", conv.GetName())
		}
		zp := ix.inits[in.Input[2]]
		is16 := zp.GetDataType() == int32(onnxpb.TensorProto_INT16)
		if want := conv.GetName() == "block2/conv1/conv"; is16 != want {
			t.Errorf("Conv %s: int16 input %v, want %v (only block2.conv1 is a16w8)", conv.GetName(), is16, want)
		}
	}

	// By type: every ConvRelu call, not the LeakyRelus of the Blocks.
	q = ethosu.NewEthosUQuantizer(ethosu.MustCompileSpec("ethos-u85-256")).
		SetModuleType("ConvRelu", qpass.SymmetricA16W8(true, false))
	res, err = quantizeGraph(t, q, b.Model(), samples)
	if err != nil {
		t.Fatal(err)
	}
	ix = indexGraph(res.Model.Graph)
	for _, conv := range ix.byOpType["Conv"] {
		if zp := ix.inits[ix.nodes[conv.Input[0]].Input[2]]; zp.GetDataType() != int32(onnxpb.TensorProto_INT16) {
			t.Errorf("Conv %s of a ConvRelu is not a16w8", conv.GetName())
		}
	}
	runsInReference(t, res.Model, b, 0.15)
}
