package qpass_test

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
	"github.com/onnxquant/onnxquant/qpass"
)

// Passes rewrite If bodies too: a Div by an outer scalar inside then_branch
// becomes a Mul by an initializer of the body.
func TestPassesRewriteInsideIfBodies(t *testing.T) {
	body := func(name, op string) *onnxpb.AttributeProto {
		g := &onnxpb.GraphProto{Name: proto.String(name),
			Node:   []*onnxpb.NodeProto{{Name: proto.String(name + "_op"), OpType: proto.String(op), Input: []string{"x", "four"}, Output: []string{name + "_y"}}},
			Output: []*onnxpb.ValueInfoProto{testmodel.ValueInfo(name+"_y", onnxpb.TensorProto_FLOAT, []int64{2, 3})}}
		return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: g}
	}
	b := testmodel.New(13).Input("x", 2, 3).Init("four", nil, 4)
	b.Graph().Input = append(b.Graph().Input, testmodel.ValueInfo("cond", onnxpb.TensorProto_BOOL, []int64{}))
	b.Node("If", []string{"cond"}, []string{"y"}, body("then_branch", "Div"), body("else_branch", "Mul")).Output("y", 2, 3)
	m := b.Model()
	out := runPass(t, m, &qpass.PassContext{}, pass(t, "scalars-to-tensors"), pass(t, "div-to-mul"))
	for _, a := range out.Graph.Node[0].Attribute {
		g := a.G
		if got := opTypes(&onnxpb.ModelProto{Graph: g}); !slices.Equal(got, []string{"Mul"}) {
			t.Errorf("%s: ops %v, want [Mul]", a.GetName(), got)
		}
		k := g.Initializer
		if len(k) != 1 || !slices.Equal(k[0].Dims, []int64{1, 1}) {
			t.Fatalf("%s: initializers %v, want one [1 1] constant", a.GetName(), k)
		}
		want := float32(4)
		if a.GetName() == "then_branch" {
			want = 0.25
		}
		if k[0].FloatData[0] != want {
			t.Errorf("%s: constant %v, want %v", a.GetName(), k[0].FloatData, want)
		}
	}
	for _, cond := range []bool{true, false} {
		in := b.RandomInputs(19)
		in["cond"] = boolScalar(cond)
		sameOutputs(t, m, out, in, 1e-6)
	}
}
