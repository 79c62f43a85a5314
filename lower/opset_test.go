package lower_test

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// buildModel lowers a hand-written graph (testmodel values and nodes) at
// opset.
func buildModel(t *testing.T, opset int64, inputs, outputs []*onnxpb.ValueInfoProto, inits []*onnxpb.TensorProto, nodes ...*onnxpb.NodeProto) *lower.GraphModule {
	t.Helper()
	m := &onnxpb.ModelProto{
		IrVersion:   proto.Int64(irFor(opset)),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(opset)}},
		Graph:       &onnxpb.GraphProto{Name: proto.String("g"), Input: inputs, Output: outputs, Initializer: inits, Node: nodes},
	}
	gm, err := lower.Lower(m, "")
	if err != nil {
		t.Fatal(err)
	}
	return gm
}

func irFor(opset int64) int64 {
	if opset >= 13 {
		return 7
	}
	return 4
}

// raised converts gm back and returns its main graph.
func raised(t *testing.T, gm *lower.GraphModule) *onnxpb.GraphProto {
	t.Helper()
	m, err := lower.Raise(gm)
	if err != nil {
		t.Fatal(err)
	}
	return m.Graph
}

func initValues(t *testing.T, g *onnxpb.GraphProto, name string) any {
	t.Helper()
	for _, init := range g.Initializer {
		if init.GetName() == name {
			v, err := onnxio.Values(init, "")
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	t.Fatalf("no initializer %q", name)
	return nil
}

func opTypes(g *onnxpb.GraphProto) string {
	var ops []string
	for _, n := range g.Node {
		ops = append(ops, n.GetOpType())
	}
	return strings.Join(ops, ",")
}

func convert(t *testing.T, gm *lower.GraphModule, target int64) *onnxpb.GraphProto {
	t.Helper()
	if err := lower.ConvertOpset(gm, target); err != nil {
		t.Fatal(err)
	}
	return raised(t, gm)
}

func TestConvertSoftmaxOnLastAxisOnlyMakesAxisExplicit(t *testing.T) {
	gm := buildModel(t, 9, []*onnxpb.ValueInfoProto{testmodel.ValueInfo("x", onnxpb.TensorProto_FLOAT, []int64{2, 5})},
		[]*onnxpb.ValueInfoProto{testmodel.ValueInfo("y", onnxpb.TensorProto_FLOAT, []int64{2, 5})}, nil,
		testmodel.Node("Softmax", []string{"x"}, []string{"y"})) // default axis=1 at opset 9
	g := convert(t, gm, 13)
	if got := opTypes(g); got != "Softmax" {
		t.Fatalf("ops %s", got)
	}
	a := g.Node[0].Attribute
	if len(a) != 1 || a[0].GetName() != "axis" || a[0].GetI() != 1 {
		t.Errorf("attributes %v, want axis=1", a)
	}
}

// PaddleOCR's case: Softmax(axis=1) at opset 9 on an input of unknown rank.
func TestConvertSoftmaxOfUnknownRankFlattensAndReshapes(t *testing.T) {
	gm := buildModel(t, 9, []*onnxpb.ValueInfoProto{testmodel.ValueInfo("x", onnxpb.TensorProto_FLOAT, nil)},
		[]*onnxpb.ValueInfoProto{testmodel.ValueInfo("y", onnxpb.TensorProto_FLOAT, nil)}, nil,
		testmodel.Node("Softmax", []string{"x"}, []string{"y"}, lower.IntAttr("axis", 1)))
	g := convert(t, gm, 13)
	if got := opTypes(g); got != "Shape,Flatten,Softmax,Reshape" {
		t.Fatalf("ops %s", got)
	}
	fl, sm, rs := g.Node[1], g.Node[2], g.Node[3]
	if fl.Attribute[0].GetI() != 1 || !slices.Equal(fl.Input, []string{"x"}) {
		t.Errorf("flatten %v", fl)
	}
	if sm.Attribute[0].GetI() != -1 || sm.Input[0] != fl.Output[0] {
		t.Errorf("softmax %v", sm)
	}
	if rs.Output[0] != "y" || rs.Input[0] != sm.Output[0] || rs.Input[1] != g.Node[0].Output[0] {
		t.Errorf("reshape %v", rs)
	}
	if g.Output[0].GetName() != "y" {
		t.Errorf("graph output %q", g.Output[0].GetName())
	}
}

func TestConvertReduceMeanAxesMoveToInputAt18(t *testing.T) {
	gm := buildModel(t, 13, []*onnxpb.ValueInfoProto{testmodel.ValueInfo("x", onnxpb.TensorProto_FLOAT, []int64{2, 3, 4})},
		[]*onnxpb.ValueInfoProto{testmodel.ValueInfo("y", onnxpb.TensorProto_FLOAT, []int64{2, 1, 4})}, nil,
		testmodel.Node("ReduceMean", []string{"x"}, []string{"y"}, lower.IntsAttr("axes", 1), lower.IntAttr("keepdims", 1)))
	g := convert(t, gm, 18)
	n := g.Node[0]
	if len(n.Input) != 2 || len(n.Attribute) != 1 || n.Attribute[0].GetName() != "keepdims" {
		t.Fatalf("node %v", n)
	}
	if v := initValues(t, g, n.Input[1]); !slices.Equal(v.([]int64), []int64{1}) {
		t.Errorf("axes %v", v)
	}
}

func TestConvertReduceMeanKeepsAxesAttributeAt17(t *testing.T) {
	gm := buildModel(t, 13, []*onnxpb.ValueInfoProto{testmodel.ValueInfo("x", onnxpb.TensorProto_FLOAT, []int64{2, 3})},
		[]*onnxpb.ValueInfoProto{testmodel.ValueInfo("y", onnxpb.TensorProto_FLOAT, []int64{2, 1})}, nil,
		testmodel.Node("ReduceMean", []string{"x"}, []string{"y"}, lower.IntsAttr("axes", 1)))
	g := convert(t, gm, 17)
	if n := g.Node[0]; len(n.Input) != 1 || n.Attribute[0].GetName() != "axes" {
		t.Errorf("node %v", n)
	}
}

func TestConvertClipAttributesBecomeInputsAt11(t *testing.T) {
	gm := buildModel(t, 9, []*onnxpb.ValueInfoProto{testmodel.ValueInfo("x", onnxpb.TensorProto_FLOAT, []int64{4})},
		[]*onnxpb.ValueInfoProto{testmodel.ValueInfo("y", onnxpb.TensorProto_FLOAT, []int64{4})}, nil,
		testmodel.Node("Clip", []string{"x"}, []string{"y"}, lower.FloatAttr("min", 0), lower.FloatAttr("max", 6)))
	g := convert(t, gm, 13)
	n := g.Node[0]
	if len(n.Attribute) != 0 || len(n.Input) != 3 {
		t.Fatalf("node %v", n)
	}
	if lo, hi := initValues(t, g, n.Input[1]), initValues(t, g, n.Input[2]); lo.([]float32)[0] != 0 || hi.([]float32)[0] != 6 {
		t.Errorf("bounds %v %v", lo, hi)
	}
	// Only max set: min stays an omitted input.
	gm = buildModel(t, 9, []*onnxpb.ValueInfoProto{testmodel.ValueInfo("x", onnxpb.TensorProto_FLOAT, []int64{4})},
		[]*onnxpb.ValueInfoProto{testmodel.ValueInfo("y", onnxpb.TensorProto_FLOAT, []int64{4})}, nil,
		testmodel.Node("Clip", []string{"x"}, []string{"y"}, lower.FloatAttr("max", 6)))
	g = convert(t, gm, 11)
	if n := g.Node[0]; len(n.Input) != 3 || n.Input[1] != "" {
		t.Errorf("inputs %q", n.Input)
	}
}

func TestConvertPadSliceSqueezeSplitAttributesBecomeInputs(t *testing.T) {
	gm := buildModel(t, 9, []*onnxpb.ValueInfoProto{testmodel.ValueInfo("x", onnxpb.TensorProto_FLOAT, []int64{1, 4, 6})},
		[]*onnxpb.ValueInfoProto{testmodel.ValueInfo("s0", onnxpb.TensorProto_FLOAT, []int64{4, 2}), testmodel.ValueInfo("s1", onnxpb.TensorProto_FLOAT, []int64{4, 2})}, nil,
		testmodel.Node("Pad", []string{"x"}, []string{"p"}, lower.IntsAttr("pads", 0, 0, 1, 0, 0, 1), lower.FloatAttr("value", 2)),
		testmodel.Node("Slice", []string{"p"}, []string{"sl"}, lower.IntsAttr("starts", 1), lower.IntsAttr("ends", 5), lower.IntsAttr("axes", 2)),
		testmodel.Node("Squeeze", []string{"sl"}, []string{"sq"}, lower.IntsAttr("axes", 0)),
		testmodel.Node("Split", []string{"sq"}, []string{"s0", "s1"}, lower.IntAttr("axis", 1), lower.IntsAttr("split", 2, 2)))
	g := convert(t, gm, 13)
	if got := opTypes(g); got != "Pad,Slice,Squeeze,Split" {
		t.Fatalf("ops %s", got)
	}
	want := map[string][][]int64{
		"Pad":     {{0, 0, 1, 0, 0, 1}},
		"Slice":   {{1}, {5}, {2}},
		"Squeeze": {{0}},
		"Split":   {{2, 2}},
	}
	for _, n := range g.Node {
		for i, w := range want[n.GetOpType()] {
			if v := initValues(t, g, n.Input[1+i]); !slices.Equal(v.([]int64), w) {
				t.Errorf("%s input %d: %v, want %v", n.GetOpType(), 1+i, v, w)
			}
		}
		for _, a := range n.Attribute {
			if a.GetName() != "axis" {
				t.Errorf("%s keeps attribute %s", n.GetOpType(), a.GetName())
			}
		}
	}
	if v := initValues(t, g, g.Node[0].Input[2]); v.([]float32)[0] != 2 {
		t.Errorf("pad value %v", v)
	}
	// At 18 an equal Split must name its output count.
	gm = buildModel(t, 13, []*onnxpb.ValueInfoProto{testmodel.ValueInfo("x", onnxpb.TensorProto_FLOAT, []int64{4})},
		[]*onnxpb.ValueInfoProto{testmodel.ValueInfo("a", onnxpb.TensorProto_FLOAT, []int64{2}), testmodel.ValueInfo("b", onnxpb.TensorProto_FLOAT, []int64{2})}, nil,
		testmodel.Node("Split", []string{"x"}, []string{"a", "b"}))
	g = convert(t, gm, 18)
	if a := g.Node[0].Attribute; len(a) != 1 || a[0].GetName() != "num_outputs" || a[0].GetI() != 2 {
		t.Errorf("split attributes %v", a)
	}
}

func TestConvertUpsampleBecomesAsymmetricResize(t *testing.T) {
	floats := &onnxpb.AttributeProto{Name: proto.String("scales"), Type: onnxpb.AttributeProto_FLOATS.Enum(), Floats: []float32{1, 1, 2, 2}}
	gm := buildModel(t, 7, []*onnxpb.ValueInfoProto{testmodel.ValueInfo("x", onnxpb.TensorProto_FLOAT, []int64{1, 1, 2, 2})},
		[]*onnxpb.ValueInfoProto{testmodel.ValueInfo("y", onnxpb.TensorProto_FLOAT, []int64{1, 1, 4, 4})}, nil,
		testmodel.Node("Upsample", []string{"x"}, []string{"y"}, lower.StringAttr("mode", "nearest"), floats))
	g := convert(t, gm, 13)
	n := g.Node[0]
	if n.GetOpType() != "Resize" || len(n.Input) != 3 {
		t.Fatalf("node %v", n)
	}
	attrs := map[string]string{}
	for _, a := range n.Attribute {
		attrs[a.GetName()] = string(a.GetS())
	}
	want := map[string]string{"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}
	for k, v := range want {
		if attrs[k] != v {
			t.Errorf("attribute %s=%q, want %q", k, attrs[k], v)
		}
	}
	if roi := initValues(t, g, n.Input[1]); len(roi.([]float32)) != 0 {
		t.Errorf("roi %v", roi)
	}
	if sc := initValues(t, g, n.Input[2]); !slices.Equal(sc.([]float32), []float32{1, 1, 2, 2}) {
		t.Errorf("scales %v", sc)
	}
}

func TestConvertBatchNormDropsSpatialAndUnusedTrainingOutputs(t *testing.T) {
	inits := []*onnxpb.TensorProto{testmodel.Float32s("s", []int64{2}, 1, 1), testmodel.Float32s("b", []int64{2}, 0, 0),
		testmodel.Float32s("m", []int64{2}, 0, 0), testmodel.Float32s("v", []int64{2}, 1, 1)}
	gm := buildModel(t, 7, []*onnxpb.ValueInfoProto{testmodel.ValueInfo("x", onnxpb.TensorProto_FLOAT, []int64{1, 2, 3})},
		[]*onnxpb.ValueInfoProto{testmodel.ValueInfo("y", onnxpb.TensorProto_FLOAT, []int64{1, 2, 3})}, inits,
		testmodel.Node("BatchNormalization", []string{"x", "s", "b", "m", "v"}, []string{"y", "rm", "rv"}, lower.IntAttr("spatial", 1)))
	g := convert(t, gm, 15)
	n := g.Node[0]
	if len(n.Attribute) != 0 || !slices.Equal(n.Output, []string{"y"}) {
		t.Errorf("node %v", n)
	}
}

func TestConvertRefusesUnknownOpsAndNonTrivialDowngrades(t *testing.T) {
	gm := buildModel(t, 13, []*onnxpb.ValueInfoProto{testmodel.ValueInfo("x", onnxpb.TensorProto_FLOAT, []int64{2})},
		[]*onnxpb.ValueInfoProto{testmodel.ValueInfo("y", onnxpb.TensorProto_FLOAT, []int64{2})}, nil,
		testmodel.Node("NoSuchOp", []string{"x"}, []string{"y"}))
	if err := lower.ConvertOpset(gm, 21); err == nil || !strings.Contains(err.Error(), "NoSuchOp_y") {
		t.Errorf("error %v, want one naming node NoSuchOp_y", err)
	}
	// Axes computed at run time have no attribute form before 18.
	gm = buildModel(t, 18, []*onnxpb.ValueInfoProto{testmodel.ValueInfo("x", onnxpb.TensorProto_FLOAT, []int64{2, 3}), testmodel.ValueInfo("ax", onnxpb.TensorProto_INT64, []int64{1})},
		[]*onnxpb.ValueInfoProto{testmodel.ValueInfo("y", onnxpb.TensorProto_FLOAT, []int64{2, 1})}, nil,
		testmodel.Node("ReduceMean", []string{"x", "ax"}, []string{"y"}))
	if err := lower.ConvertOpset(gm, 13); err == nil || !strings.Contains(err.Error(), "ReduceMean_y") || !strings.Contains(err.Error(), "axes") {
		t.Errorf("downgrade error %v, want one naming node ReduceMean_y and its axes", err)
	}
	// Conv did not change between 11 and 21: a trivial downgrade works.
	gm = buildModel(t, 21, []*onnxpb.ValueInfoProto{testmodel.ValueInfo("x", onnxpb.TensorProto_FLOAT, []int64{1, 1, 3, 3})},
		[]*onnxpb.ValueInfoProto{testmodel.ValueInfo("y", onnxpb.TensorProto_FLOAT, []int64{1, 1, 3, 3})}, []*onnxpb.TensorProto{testmodel.Float32s("w", []int64{1, 1, 1, 1}, 2)},
		testmodel.Node("Conv", []string{"x", "w"}, []string{"y"}))
	if err := lower.ConvertOpset(gm, 13); err != nil {
		t.Errorf("trivial downgrade: %v", err)
	} else if gm.Opset("") != 13 {
		t.Errorf("opset %d after downgrade", gm.Opset(""))
	}
}
