package interp_test

import (
	"context"
	"testing"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/kernels"
	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

func floatConst(name string, v float32) *onnxpb.NodeProto {
	n := testmodel.NamedNode(name, "Constant", nil, []string{name})
	n.Attribute = []*onnxpb.AttributeProto{lower.TensorAttr("value", &onnxpb.TensorProto{
		DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), FloatData: []float32{v}})}
	return n
}

// countingLoop builds a Loop whose body adds 1 to x, continues while the new
// x is below 3 and emits each new x as a scan output. withM adds a trip
// count input M.
func countingLoop(t *testing.T, withM bool) *lower.GraphModule {
	t.Helper()
	body := &onnxpb.GraphProto{
		Name: proto.String("body"),
		Input: []*onnxpb.ValueInfoProto{
			testmodel.ValueInfo("iter", onnxpb.TensorProto_INT64, []int64{}), testmodel.ValueInfo("cond_in", onnxpb.TensorProto_BOOL, []int64{}),
			testmodel.ValueInfo("x_in", onnxpb.TensorProto_FLOAT, []int64{})},
		Output: []*onnxpb.ValueInfoProto{
			testmodel.ValueInfo("cond_out", onnxpb.TensorProto_BOOL, []int64{}), testmodel.ValueInfo("x_out", onnxpb.TensorProto_FLOAT, []int64{}),
			testmodel.ValueInfo("x_scan", onnxpb.TensorProto_FLOAT, []int64{})},
		Node: []*onnxpb.NodeProto{
			floatConst("one", 1), floatConst("three", 3),
			testmodel.NamedNode("inc", "Add", []string{"x_in", "one"}, []string{"x_out"}),
			testmodel.NamedNode("test", "Less", []string{"x_out", "three"}, []string{"cond_out"}),
			testmodel.NamedNode("emit", "Identity", []string{"x_out"}, []string{"x_scan"}),
		},
	}
	m := ""
	inputs := []*onnxpb.ValueInfoProto{testmodel.ValueInfo("cond", onnxpb.TensorProto_BOOL, []int64{}), testmodel.ValueInfo("x0", onnxpb.TensorProto_FLOAT, []int64{})}
	if withM {
		m = "M"
		inputs = append(inputs, testmodel.ValueInfo("M", onnxpb.TensorProto_INT64, []int64{}))
	}
	loop := testmodel.NamedNode("loop", "Loop", []string{m, "cond", "x0"}, []string{"x_final", "xs"})
	loop.Attribute = []*onnxpb.AttributeProto{{Name: proto.String("body"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: body}}
	g := &onnxpb.GraphProto{
		Name:  proto.String("loop"),
		Input: inputs,
		Output: []*onnxpb.ValueInfoProto{testmodel.ValueInfo("x_final", onnxpb.TensorProto_FLOAT, []int64{}),
			testmodel.ValueInfo("xs", onnxpb.TensorProto_FLOAT, nil)},
		Node: []*onnxpb.NodeProto{loop},
	}
	gm, err := lower.Lower(&onnxpb.ModelProto{IrVersion: proto.Int64(8), Graph: g,
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(16)}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	return gm
}

func scalar(t *testing.T, v any) *tensor.Dense {
	t.Helper()
	var d *tensor.Dense
	var err error
	switch x := v.(type) {
	case float32:
		d, err = kernels.New(nil, []float32{x})
	case int64:
		d, err = kernels.New(nil, []int64{x})
	case bool:
		d, err = kernels.New(nil, []bool{x})
	}
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestLoopStopsOnConditionOrTripCount(t *testing.T) {
	cases := []struct {
		name   string
		m      int64 // -1: no M input
		cond   bool
		scan   []float32
		final  float32
		enters int
	}{
		{"condition only", -1, true, []float32{1, 2, 3}, 3, 3},
		{"trip count first", 2, true, []float32{1, 2}, 2, 2},
		{"condition first", 10, true, []float32{1, 2, 3}, 3, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			gm := countingLoop(t, c.m >= 0)
			it := newInterp(t, gm, 1)
			in := map[string]*tensor.Dense{"cond": scalar(t, c.cond), "x0": scalar(t, float32(0))}
			if c.m >= 0 {
				in["M"] = scalar(t, c.m)
			}
			rec := &recorder{}
			out, err := it.Run(context.Background(), in, rec)
			if err != nil {
				t.Fatal(err)
			}
			if got := out["x_final"].Data().(float32); got != c.final {
				t.Errorf("final x = %v, want %v", got, c.final)
			}
			xs := out["xs"]
			if got := xs.Shape(); len(got) != 1 || got[0] != len(c.scan) {
				t.Fatalf("scan output shape %v, want [%d]", got, len(c.scan))
			}
			for i, v := range xs.Data().([]float32) {
				if v != c.scan[i] {
					t.Errorf("scan[%d] = %v, want %v", i, v, c.scan[i])
				}
			}
			bodies := 0
			for _, m := range rec.entered {
				if m == "Loop_0.body" {
					bodies++
				}
			}
			if bodies != c.enters {
				t.Errorf("body entered %d times, want %d (entered: %v)", bodies, c.enters, rec.entered)
			}
		})
	}
}
