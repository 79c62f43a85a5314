package interp_test

import (
	"context"
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/ortoracle"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// TestResize18FormsMatchOnnxRuntime checks the opset 18 Resize attributes
// (axes, keep_aspect_ratio_policy, antialias when upsampling) against ONNX
// Runtime on odd sizes, where rounding choices show.
func TestResize18FormsMatchOnnxRuntime(t *testing.T) {
	if !testenv.ORT(t) {
		return
	}
	type form struct {
		mode, policy string
		sizes        []int64
		scales       []float32
		antialias    int64
	}
	var forms []form
	for _, mode := range []string{"nearest", "linear"} {
		for _, policy := range []string{"stretch", "not_larger", "not_smaller"} {
			forms = append(forms, form{mode: mode, policy: policy, sizes: []int64{9, 11}})
		}
		forms = append(forms, form{mode: mode, policy: "stretch", scales: []float32{1.5, 2}})
	}
	// ONNX Runtime refuses antialias with nearest.
	forms = append(forms, form{mode: "linear", policy: "stretch", scales: []float32{2, 1.25}, antialias: 1},
		form{mode: "linear", policy: "stretch", scales: []float32{0.5, 0.6}, antialias: 1},
		form{mode: "linear", policy: "stretch", sizes: []int64{2, 3}, antialias: 1},
		form{mode: "linear", policy: "not_larger", sizes: []int64{3, 3}, antialias: 1})
	x := make([]float32, 35)
	for i := range x {
		x[i] = float32((i*37)%11) - 4
	}
	in := map[string]*tensor.Dense{"x": f32(t, []int{1, 1, 5, 7}, x...)}
	for _, f := range forms {
		name := fmt.Sprintf("%s %s sizes %v scales %v antialias %d", f.mode, f.policy, f.sizes, f.scales, f.antialias)
		inputs := []string{"x", "", ""}
		var inits []*onnxpb.TensorProto
		if f.sizes != nil {
			inputs = append(inputs, "sizes")
			inits = append(inits, int64Init("sizes", []int64{2}, f.sizes...))
		} else {
			inputs[2] = "scales"
			inits = append(inits, floatInit("scales", []int64{2}, f.scales...))
		}
		nd := testmodel.NamedNode("resize", "Resize", inputs, []string{"y"})
		nd.Attribute = []*onnxpb.AttributeProto{lower.StringAttr("mode", f.mode), lower.IntsAttr("axes", 2, 3),
			lower.StringAttr("keep_aspect_ratio_policy", f.policy), lower.IntAttr("antialias", f.antialias)}
		g := &onnxpb.GraphProto{Name: proto.String("r"), Input: []*onnxpb.ValueInfoProto{testmodel.ValueInfo("x", onnxpb.TensorProto_FLOAT, []int64{1, 1, 5, 7})},
			Output: []*onnxpb.ValueInfoProto{{Name: proto.String("y"), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
				TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT))}}}}},
			Initializer: inits, Node: []*onnxpb.NodeProto{nd}}
		m := &onnxpb.ModelProto{IrVersion: proto.Int64(8), Graph: g,
			OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(18)}}}
		gm, err := lower.Lower(m, "")
		if err != nil {
			t.Fatal(err)
		}
		got, err := newInterp(t, gm, 1).Run(context.Background(), in, nil)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		b, _ := proto.Marshal(m)
		want, err := ortoracle.RunBytes(b, in)
		if err != nil {
			t.Fatalf("%s: ONNX Runtime: %v", name, err)
		}
		if !got["y"].Shape().Eq(want["y"].Shape()) {
			t.Errorf("%s: shape %v, ONNX Runtime %v", name, got["y"].Shape(), want["y"].Shape())
			continue
		}
		if e := relL2(t, got["y"], want["y"]); e > 1e-5 {
			t.Errorf("%s: relative L2 error %g against ONNX Runtime", name, e)
		}
	}
}
