package lower_test

import (
	"path/filepath"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

func constNode(out string, t *onnxpb.TensorProto) *onnxpb.NodeProto {
	return testmodel.Node("Constant", nil, []string{out}, lower.TensorAttr("value", t))
}

func foldAll(t *testing.T, gm *lower.GraphModule, shapes map[string][]int64) *onnxpb.GraphProto {
	t.Helper()
	if err := lower.InferShapes(gm, shapes); err != nil {
		t.Fatal(err)
	}
	if _, err := lower.FoldConstants(gm); err != nil {
		t.Fatal(err)
	}
	return raised(t, gm)
}

// The torch export idiom x.view(x.size(0), -1) folds to a Reshape by a
// constant [2, -1] once x's shape is fixed.
func TestFoldShapeArithmeticToReshapeConstant(t *testing.T) {
	gm := buildModel(t, 13, []*onnxpb.ValueInfoProto{testmodel.ValueInfo("x", onnxpb.TensorProto_FLOAT, []int64{-1, 3, 4})},
		[]*onnxpb.ValueInfoProto{testmodel.ValueInfo("y", onnxpb.TensorProto_FLOAT, []int64{-1, -1})}, nil,
		testmodel.Node("Shape", []string{"x"}, []string{"s"}),
		constNode("zero", testmodel.Int64s("", nil, 0)),
		testmodel.Node("Gather", []string{"s", "zero"}, []string{"n"}, lower.IntAttr("axis", 0)),
		constNode("ax", testmodel.Int64s("", []int64{1}, 0)),
		testmodel.Node("Unsqueeze", []string{"n", "ax"}, []string{"n1"}),
		constNode("m1", testmodel.Int64s("", []int64{1}, -1)),
		testmodel.Node("Concat", []string{"n1", "m1"}, []string{"shape"}, lower.IntAttr("axis", 0)),
		testmodel.Node("Reshape", []string{"x", "shape"}, []string{"y"}))
	g := foldAll(t, gm, map[string][]int64{"x": {2, 3, 4}})
	if got := opTypes(g); got != "Reshape" {
		t.Fatalf("ops after folding: %s", got)
	}
	if v := initValues(t, g, g.Node[0].Input[1]); !slices.Equal(v.([]int64), []int64{2, -1}) {
		t.Errorf("reshape target %v, want [2 -1]", v)
	}
	if len(g.Initializer) != 1 {
		t.Errorf("%d initializers left, want 1", len(g.Initializer))
	}
	if y := gm.Graph.OutputNode().Inputs[0]; dimsString(y.Shape) != "[2,12]" {
		t.Errorf("y inferred %s, want [2,12]", dimsString(y.Shape))
	}
}

// Without fixed shapes the Shape node stays (its batch is symbolic), but
// Constant nodes still become initializers.
func TestFoldKeepsShapeOfUnknownDims(t *testing.T) {
	gm := buildModel(t, 13, []*onnxpb.ValueInfoProto{testmodel.ValueInfo("x", onnxpb.TensorProto_FLOAT, []int64{-1, 3})},
		[]*onnxpb.ValueInfoProto{testmodel.ValueInfo("y", onnxpb.TensorProto_INT64, []int64{1})}, nil,
		testmodel.Node("Shape", []string{"x"}, []string{"s"}),
		constNode("idx", testmodel.Int64s("", []int64{1}, 0)),
		testmodel.Node("Gather", []string{"s", "idx"}, []string{"y"}, lower.IntAttr("axis", 0)))
	g := foldAll(t, gm, nil)
	if got := opTypes(g); got != "Shape,Gather" {
		t.Fatalf("ops %s", got)
	}
	if v := initValues(t, g, "idx"); !slices.Equal(v.([]int64), []int64{0}) {
		t.Errorf("idx %v", v)
	}
}

// A graph output computed from constants keeps its name, through an
// Identity of the folded value.
func TestFoldKeepsGraphOutputNames(t *testing.T) {
	gm := buildModel(t, 13, []*onnxpb.ValueInfoProto{testmodel.ValueInfo("x", onnxpb.TensorProto_FLOAT, []int64{2})},
		[]*onnxpb.ValueInfoProto{testmodel.ValueInfo("y", onnxpb.TensorProto_FLOAT, []int64{2}), testmodel.ValueInfo("k", onnxpb.TensorProto_INT64, []int64{2})},
		[]*onnxpb.TensorProto{testmodel.Int64s("a", []int64{2}, 3, 4), testmodel.Int64s("b", []int64{2}, 10, 20)},
		testmodel.Node("Relu", []string{"x"}, []string{"y"}),
		testmodel.Node("Mul", []string{"a", "b"}, []string{"k"}))
	g := foldAll(t, gm, nil)
	if got := opTypes(g); got != "Relu,Identity" {
		t.Fatalf("ops %s", got)
	}
	id := g.Node[1]
	if id.Output[0] != "k" || g.Output[1].GetName() != "k" {
		t.Errorf("identity %v, outputs %v", id, g.Output)
	}
	if v := initValues(t, g, id.Input[0]); !slices.Equal(v.([]int64), []int64{30, 80}) {
		t.Errorf("folded %v, want [30 80]", v)
	}
}

// Convolutions of constants are compute, not shape arithmetic: untouched.
func TestFoldLeavesFloatComputeAlone(t *testing.T) {
	gm := buildModel(t, 13, []*onnxpb.ValueInfoProto{testmodel.ValueInfo("x", onnxpb.TensorProto_FLOAT, []int64{1, 1, 2, 2})},
		[]*onnxpb.ValueInfoProto{testmodel.ValueInfo("y", onnxpb.TensorProto_FLOAT, []int64{1, 1, 2, 2})},
		[]*onnxpb.TensorProto{testmodel.Float32s("c", []int64{1, 1, 2, 2}, 1, 2, 3, 4), testmodel.Float32s("w", []int64{1, 1, 1, 1}, 2)},
		testmodel.Node("Conv", []string{"c", "w"}, []string{"cw"}),
		testmodel.Node("Add", []string{"x", "cw"}, []string{"y"}))
	g := foldAll(t, gm, nil)
	if got := opTypes(g); got != "Conv,Add" {
		t.Errorf("ops %s", got)
	}
}

// Small constant float arithmetic, Identity of initializers, Slice with a
// negative step, Range and Where fold to hand-computed values.
func TestFoldEvaluatesSmallConstantOps(t *testing.T) {
	gm := buildModel(t, 13, []*onnxpb.ValueInfoProto{testmodel.ValueInfo("x", onnxpb.TensorProto_FLOAT, []int64{4})},
		[]*onnxpb.ValueInfoProto{testmodel.ValueInfo("o1", onnxpb.TensorProto_FLOAT, []int64{4}), testmodel.ValueInfo("o2", onnxpb.TensorProto_INT64, []int64{3}),
			testmodel.ValueInfo("o3", onnxpb.TensorProto_FLOAT, []int64{4})},
		[]*onnxpb.TensorProto{
			testmodel.Float32s("f", []int64{4}, 1, 2, 3, 4),
			testmodel.Int64s("v", []int64{5}, 10, 11, 12, 13, 14),
			testmodel.Int64s("st", []int64{1}, -1), testmodel.Int64s("en", []int64{1}, -4), testmodel.Int64s("step", []int64{1}, -1),
			testmodel.Int64s("r0", nil, 1), testmodel.Int64s("r1", nil, 8), testmodel.Int64s("r2", nil, 3),
		},
		testmodel.Node("Identity", []string{"f"}, []string{"fi"}),
		testmodel.Node("Mul", []string{"fi", "fi"}, []string{"sq"}),
		testmodel.Node("Add", []string{"x", "sq"}, []string{"o1"}),
		testmodel.Node("Slice", []string{"v", "st", "en", "", "step"}, []string{"sl"}),
		testmodel.Node("Range", []string{"r0", "r1", "r2"}, []string{"rg"}),
		testmodel.Node("Add", []string{"sl", "rg"}, []string{"o2pre"}),
		testmodel.Node("Relu", []string{"x"}, []string{"rx"}),
		testmodel.Node("Add", []string{"o2pre", "r0"}, []string{"o2"}),
		testmodel.Node("Greater", []string{"f", "sq"}, []string{"gt"}),
		testmodel.Node("Where", []string{"gt", "f", "x"}, []string{"o3"}))
	g := foldAll(t, gm, nil)
	if got := opTypes(g); got != "Add,Relu,Identity,Where" {
		t.Fatalf("ops %s", got)
	}
	// sq = f*f = [1 4 9 16]; v[-1:-4:-1] = [14 13 12]; range(1,8,3) = [1 4 7];
	// o2 = [14+1+1, 13+4+1, 12+7+1].
	add := g.Node[0]
	if v := initValues(t, g, add.Input[1]); !slices.Equal(v.([]float32), []float32{1, 4, 9, 16}) {
		t.Errorf("f*f folded to %v", v)
	}
	if v := initValues(t, g, g.Node[2].Input[0]); !slices.Equal(v.([]int64), []int64{16, 18, 20}) {
		t.Errorf("o2 folded to %v", v)
	}
	// f > f*f is false everywhere (1>1 false, 2>4 false, ...).
	if v := initValues(t, g, g.Node[3].Input[0]); !slices.Equal(v.([]bool), []bool{false, false, false, false}) {
		t.Errorf("gt folded to %v", v)
	}
}

// Constants captured by a body fold inside it.
func TestFoldInsideBodies(t *testing.T) {
	then := &onnxpb.GraphProto{Name: proto.String("then"),
		Node:   []*onnxpb.NodeProto{testmodel.Node("Add", []string{"k", "k"}, []string{"t"}), testmodel.Node("Mul", []string{"t", "x"}, []string{"tout"})},
		Output: []*onnxpb.ValueInfoProto{testmodel.ValueInfo("tout", onnxpb.TensorProto_FLOAT, []int64{2})}}
	els := &onnxpb.GraphProto{Name: proto.String("else"),
		Node:   []*onnxpb.NodeProto{testmodel.Node("Identity", []string{"x"}, []string{"eout"})},
		Output: []*onnxpb.ValueInfoProto{testmodel.ValueInfo("eout", onnxpb.TensorProto_FLOAT, []int64{2})}}
	ifNode := testmodel.Node("If", []string{"c"}, []string{"y"},
		&onnxpb.AttributeProto{Name: proto.String("then_branch"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: then},
		&onnxpb.AttributeProto{Name: proto.String("else_branch"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: els})
	gm := buildModel(t, 13, []*onnxpb.ValueInfoProto{testmodel.ValueInfo("x", onnxpb.TensorProto_FLOAT, []int64{2}), testmodel.ValueInfo("c", onnxpb.TensorProto_BOOL, []int64{})},
		[]*onnxpb.ValueInfoProto{testmodel.ValueInfo("y", onnxpb.TensorProto_FLOAT, []int64{2})}, nil,
		constNode("k", testmodel.Float32s("", []int64{2}, 1.5, -2)), ifNode)
	g := foldAll(t, gm, nil)
	body := g.Node[0].Attribute[0].G
	if got := opTypes(body); got != "Mul" {
		t.Fatalf("then branch ops %s", got)
	}
	if v := initValues(t, body, body.Node[0].Input[0]); !slices.Equal(v.([]float32), []float32{3, -4}) {
		t.Errorf("k+k folded to %v", v)
	}
	if y := gm.Graph.OutputNode().Inputs[0]; dimsString(y.Shape) != "[2]" {
		t.Errorf("y %s", dimsString(y.Shape))
	}
}

// On the corpus, folding after binding the inputs leaves no Constant and
// no Shape node, and the models still lower and raise.
func TestFoldCorpusRemovesShapeArithmetic(t *testing.T) {
	dir, files := corpusModels(t)
	for _, f := range files {
		model := filepath.Base(f)
		gm := lowerFile(t, f)
		name := model[:len(model)-len(".onnx")]
		if err := lower.InferShapes(gm, calibInputShapes(t, dir, name, inputNames(gm))); err != nil {
			t.Fatal(err)
		}
		before := countOps(gm)
		if _, err := lower.FoldConstants(gm); err != nil {
			t.Fatalf("%s: %v", model, err)
		}
		after := countOps(gm)
		t.Logf("%s: %d -> %d nodes (Shape %d -> %d, Constant %d -> %d)", model, before[""], after[""],
			before["Shape"], after["Shape"], before["Constant"], after["Constant"])
		if after["Constant"] != 0 {
			t.Errorf("%s: %d Constant nodes left", model, after["Constant"])
		}
		if after["Conv"] != before["Conv"] {
			t.Errorf("%s: Conv count %d -> %d", model, before["Conv"], after["Conv"])
		}
		m, err := lower.Raise(gm)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := lower.Lower(m, filepath.Dir(f)); err != nil {
			t.Fatalf("%s: folded model does not lower: %v", model, err)
		}
	}
}

func countOps(gm *lower.GraphModule) map[string]int {
	c := map[string]int{}
	_ = gm.Walk(func(m *lower.GraphModule) error {
		for _, n := range m.Graph.Nodes {
			if n.Op == lower.CallFunction || n.Op == lower.CallModule {
				c[n.Target.OpType]++
				c[""]++
			}
		}
		return nil
	})
	return c
}

// Exporters share a layer's weights with a clone through Identity; an
// initializer too large to evaluate is bypassed all the same, so the
// MatMul reads the weight itself (left in place, the copy would be
// quantized as an activation).
func TestFoldBypassesIdentityOfLargeInitializer(t *testing.T) {
	w := make([]float32, 64*80) // more than maxConstElems
	for i := range w {
		w[i] = float32(i%7) - 3
	}
	gm := buildModel(t, 13, []*onnxpb.ValueInfoProto{testmodel.ValueInfo("x", onnxpb.TensorProto_FLOAT, []int64{1, 64})},
		[]*onnxpb.ValueInfoProto{testmodel.ValueInfo("y", onnxpb.TensorProto_FLOAT, []int64{1, 80})},
		[]*onnxpb.TensorProto{testmodel.Float32s("w", []int64{64, 80}, w...)},
		testmodel.Node("Identity", []string{"w"}, []string{"w_shared"}),
		testmodel.Node("MatMul", []string{"x", "w_shared"}, []string{"y"}))
	g := foldAll(t, gm, nil)
	if got := opTypes(g); got != "MatMul" {
		t.Fatalf("ops %s, want the Identity gone", got)
	}
	if g.Node[0].Input[1] != "w" {
		t.Errorf("MatMul reads %q, want the initializer w", g.Node[0].Input[1])
	}
}
