package qpass_test

import (
	"testing"

	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
	"github.com/onnxquant/onnxquant/qpass"
)

// lowerInferred lowers m and infers shapes from its declared inputs.
func lowerInferred(t *testing.T, m *onnxpb.ModelProto) *lower.GraphModule {
	t.Helper()
	gm, err := lower.Lower(m, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := lower.InferShapes(gm, nil); err != nil {
		t.Fatal(err)
	}
	return gm
}

func nodeOf(t *testing.T, gm *lower.GraphModule, op string) *lower.Node {
	t.Helper()
	for _, n := range gm.Graph.Nodes {
		if n.Target.OpType == op {
			return n
		}
	}
	t.Fatalf("no %s node", op)
	return nil
}

func convReluGraph() *testmodel.Builder {
	w := make([]float32, 3*2*3*3)
	for i := range w {
		w[i] = float32(i%7-3) / 8
	}
	return testmodel.New(13).Input("x", 1, 2, 4, 4).Output("y", 1, 3, 4, 4).
		Init("w", []int64{3, 2, 3, 3}, w...).Init("b", []int64{3}, 0.5, -0.25, 1).
		Node("Conv", []string{"x", "w", "b"}, []string{"c"}, lower.IntsAttr("pads", 1, 1, 1, 1)).
		Node("Relu", []string{"c"}, []string{"y"})
}

func annotate(t *testing.T, gm *lower.GraphModule, cs *qpass.ConfigSet) *qpass.Annotation {
	t.Helper()
	ann, err := qpass.Annotate(gm, cs)
	if err != nil {
		t.Fatal(err)
	}
	return ann
}

func TestAnnotateFusesReluIntoConvForInt8(t *testing.T) {
	gm := lowerInferred(t, convReluGraph().Model())
	ann := annotate(t, gm, &qpass.ConfigSet{Global: qpass.SymmetricInt8(true, false)})
	conv, relu := nodeOf(t, gm, "Conv"), nodeOf(t, gm, "Relu")
	if !ann.Fused[relu] {
		t.Error("Relu is not fused into the Conv")
	}
	if p := ann.OutputPoint(conv.Outputs[0]); p != nil {
		t.Errorf("the fused Conv output has quantization point %d", p.ID)
	}
	in, w, b := ann.InputPoint(conv, 0), ann.InputPoint(conv, 1), ann.InputPoint(conv, 2)
	if in == nil || w == nil || b == nil {
		t.Fatalf("conv points: input %v weight %v bias %v", in, w, b)
	}
	if !w.Spec.PerChannel || w.Axis != 0 || w.Spec.QMin != -127 || w.Spec.QMax != 127 || !w.Spec.Symmetric {
		t.Errorf("weight spec %+v axis %d, want symmetric per-channel [-127, 127] on axis 0", w.Spec, w.Axis)
	}
	if !b.Derived() || b.BiasInput != in || b.BiasWeight != w || b.Spec.DType != int32(onnxpb.TensorProto_INT32) {
		t.Errorf("bias point %+v is not derived int32 from the input and weight points", b)
	}
	if out := ann.OutputPoint(relu.Outputs[0]); out == nil || out.Spec.DType != int32(onnxpb.TensorProto_INT8) || out.Spec.Symmetric {
		t.Errorf("Relu output point %+v, want asymmetric int8", out)
	}
	if in.Spec.QMin != -128 || in.Spec.QMax != 127 {
		t.Errorf("activation range [%d, %d], want [-128, 127]", in.Spec.QMin, in.Spec.QMax)
	}
}

func TestAnnotateDoesNotFuseSymmetricA16W8(t *testing.T) {
	gm := lowerInferred(t, convReluGraph().Model())
	ann := annotate(t, gm, &qpass.ConfigSet{Global: qpass.SymmetricA16W8(true, false)})
	conv, relu := nodeOf(t, gm, "Conv"), nodeOf(t, gm, "Relu")
	if ann.Fused[relu] {
		t.Error("Relu fused although int16 activations are symmetric")
	}
	out := ann.OutputPoint(conv.Outputs[0])
	if out == nil || out.Spec.DType != int32(onnxpb.TensorProto_INT16) || !out.Spec.Symmetric || out.Spec.QMin != -32767 {
		t.Fatalf("Conv output point %+v, want symmetric int16 [-32767, 32767]", out)
	}
	// A standalone Relu keeps its input's qparams (shared-qspec cluster).
	if ann.OutputPoint(relu.Outputs[0]) != out {
		t.Error("Relu output does not share the Conv output's point")
	}
	if w := ann.InputPoint(conv, 1); w.Spec.DType != int32(onnxpb.TensorProto_INT8) {
		t.Errorf("a16w8 weight type %d, want int8", w.Spec.DType)
	}
}

func TestAnnotateSharesConcatAndKeepsAddIndependent(t *testing.T) {
	m := testmodel.New(13).Input("a", 1, 2).Input("b", 1, 2).Output("cat", 1, 4).Output("sum", 1, 2).
		Node("Concat", []string{"a", "b"}, []string{"cat"}, lower.IntAttr("axis", 1)).
		Node("Add", []string{"a", "b"}, []string{"sum"}).Model()
	gm := lowerInferred(t, m)
	ann := annotate(t, gm, &qpass.ConfigSet{Global: qpass.SymmetricInt8(true, false)})
	cat, add := nodeOf(t, gm, "Concat"), nodeOf(t, gm, "Add")
	p0, p1, pc := ann.InputPoint(cat, 0), ann.InputPoint(cat, 1), ann.OutputPoint(cat.Outputs[0])
	if p0 == nil || p0 != p1 || p0 != pc {
		t.Errorf("Concat points %v %v %v, want one shared point", p0, p1, pc)
	}
	// The Add reads the same graph inputs, so it reads the shared point,
	// but its output is its own.
	if ps := ann.OutputPoint(add.Outputs[0]); ps == nil || ps == p0 {
		t.Errorf("Add output point %v, want one of its own", ps)
	}
}

func TestAnnotateWeightAxes(t *testing.T) {
	for _, c := range []struct {
		name string
		m    *onnxpb.ModelProto
		op   string
		axis int
	}{
		{"Gemm", testmodel.New(13).Input("x", 2, 3).Output("y", 2, 4).Init("w", []int64{3, 4}, make([]float32, 12)...).
			Node("Gemm", []string{"x", "w"}, []string{"y"}).Model(), "Gemm", 1},
		{"Gemm transB", testmodel.New(13).Input("x", 2, 3).Output("y", 2, 4).Init("w", []int64{4, 3}, make([]float32, 12)...).
			Node("Gemm", []string{"x", "w"}, []string{"y"}, lower.IntAttr("transB", 1)).Model(), "Gemm", 0},
		{"MatMul", testmodel.New(13).Input("x", 2, 3).Output("y", 2, 4).Init("w", []int64{3, 4}, make([]float32, 12)...).
			Node("MatMul", []string{"x", "w"}, []string{"y"}).Model(), "MatMul", 1},
		{"ConvTranspose", testmodel.New(13).Input("x", 1, 2, 3, 3).Output("y", 1, 4, 5, 5).Init("w", []int64{2, 4, 3, 3}, make([]float32, 72)...).
			Node("ConvTranspose", []string{"x", "w"}, []string{"y"}).Model(), "ConvTranspose", 1},
	} {
		gm := lowerInferred(t, c.m)
		ann := annotate(t, gm, &qpass.ConfigSet{Global: qpass.SymmetricInt8(true, false)})
		if w := ann.InputPoint(nodeOf(t, gm, c.op), 1); w == nil || w.Axis != c.axis {
			t.Errorf("%s: weight point %+v, want axis %d", c.name, w, c.axis)
		}
	}
}

func TestConfigSetPrecedence(t *testing.T) {
	m := testmodel.New(13).Input("x", 1, 2).Output("y", 1, 2).
		Node("Relu", []string{"x"}, []string{"y"}).Model()
	m.Graph.Node[0].Name = strPtr("/layer1/layer1.0/act/Relu")
	gm := lowerInferred(t, m)
	relu := nodeOf(t, gm, "Relu")
	global, byType, byName, inner := qpass.SymmetricInt8(true, false), qpass.SymmetricInt8(false, false), qpass.SymmetricA16W8(true, false), qpass.Uint8IO(false)
	cs := &qpass.ConfigSet{Global: global, ModuleType: map[string]*qpass.Config{"Relu": byType}, ModuleName: map[string]*qpass.Config{}}
	if got, _ := cs.ForNode(relu); got != byType {
		t.Errorf("op type config not chosen over global: %v", got.Name)
	}
	cs.ModuleName["layer1"] = byName
	if got, _ := cs.ForNode(relu); got != byName {
		t.Errorf("module name config not chosen over type: %v", got.Name)
	}
	cs.ModuleName["layer1.0"] = inner
	if got, _ := cs.ForNode(relu); got != inner {
		t.Errorf("the most specific module name does not win: %v", got.Name)
	}
	cs.ModuleName["layer1.0.act"] = nil
	if got, claimed := cs.ForNode(relu); got != nil || !claimed {
		t.Errorf("a nil module config must claim the node unquantized, got %v %v", got, claimed)
	}
	cs.IO = qpass.Uint8IO(false)
	if cs.ForInput() != cs.IO {
		t.Error("graph inputs do not take the IO config")
	}
	cs.Adjust = func(n *lower.Node, c *qpass.Config) *qpass.Config { return global }
	delete(cs.ModuleName, "layer1.0.act")
	if got, _ := cs.ForNode(relu); got != global {
		t.Error("the Adjust hook is not applied")
	}
}

func strPtr(s string) *string { return &s }
