package qpass_test

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
	"github.com/onnxquant/onnxquant/qpass"
)

func randFloats(seed uint64, n int) []float32 {
	r := rand.New(rand.NewPCG(seed, 11))
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(r.NormFloat64() * 0.5)
	}
	return out
}

func TestDecomposeLayerNormWritesMeanVarianceAndPow(t *testing.T) {
	for _, opset := range []int64{17, 18} {
		b := testmodel.New(opset).Input("x", 2, 3, 8).
			Init("g", []int64{8}, randFloats(1, 8)...).Init("b", []int64{8}, randFloats(2, 8)...).
			Node("LayerNormalization", []string{"x", "g", "b"}, []string{"y"}, lower.IntAttr("axis", -1), lower.FloatAttr("epsilon", 1e-3)).
			Output("y", 2, 3, 8)
		m := b.Model()
		out := runPass(t, m, nil, pass(t, "decompose-layernorm"))
		want := []string{"ReduceMean", "Sub", "Mul", "ReduceMean", "Add", "Pow", "Mul", "Mul", "Add"}
		if got := opTypes(out); !slices.Equal(got, want) {
			t.Fatalf("opset %d: ops %v, want %v", opset, got, want)
		}
		rm := out.Graph.Node[0]
		if opset < 18 && (len(rm.Input) != 1 || !slices.Equal(rm.Attribute[0].Ints, []int64{-1})) {
			t.Errorf("opset %d: ReduceMean should take axes [-1] as an attribute, has inputs %v attrs %v", opset, rm.Input, rm.Attribute)
		}
		if opset >= 18 && len(rm.Input) != 2 {
			t.Errorf("opset %d: ReduceMean should take axes as an input, has %v", opset, rm.Input)
		}
		eps := initializer(out, out.Graph.Node[4].Input[1])
		if !slices.Equal(eps.Dims, []int64{1, 1, 1}) || eps.FloatData[0] != 1e-3 {
			t.Errorf("epsilon %v %v, want dims [1 1 1] value 1e-3", eps.Dims, eps.FloatData)
		}
		if exp := initializer(out, out.Graph.Node[5].Input[1]); exp.FloatData[0] != -0.5 {
			t.Errorf("Pow exponent %v, want -0.5", exp.FloatData)
		}
		sameOutputs(t, m, out, b.RandomInputs(10), 1e-5)
	}
}

func TestDecomposeLayerNormOverTwoAxesKeepsMeanAndInvStdOutputs(t *testing.T) {
	b := testmodel.New(17).Input("x", 2, 3, 4).
		Init("g", []int64{3, 4}, randFloats(3, 12)...).
		Node("LayerNormalization", []string{"x", "g"}, []string{"y", "mean", "inv"}, lower.IntAttr("axis", 1)).
		Output("y", 2, 3, 4).Output("mean", 2, 1, 1).Output("inv", 2, 1, 1)
	m := b.Model()
	out := runPass(t, m, nil, pass(t, "decompose-layernorm"))
	if slices.Contains(opTypes(out), "LayerNormalization") {
		t.Fatalf("LayerNormalization left: %v", opTypes(out))
	}
	sameOutputs(t, m, out, b.RandomInputs(11), 1e-5)
}

func TestDecomposeLayerNormHandlesGroupAndInstanceNorm(t *testing.T) {
	cases := map[string]*testmodel.Builder{
		"group18": testmodel.New(18).Input("x", 2, 4, 3, 3).
			Init("s", []int64{2}, 1.5, -0.5).Init("b", []int64{2}, 0.25, 2).
			Node("GroupNormalization", []string{"x", "s", "b"}, []string{"y"}, lower.IntAttr("num_groups", 2)).
			Output("y", 2, 4, 3, 3),
		"group21": testmodel.New(21).Input("x", 2, 4, 3, 3).
			Init("s", []int64{4}, randFloats(4, 4)...).Init("b", []int64{4}, randFloats(5, 4)...).
			Node("GroupNormalization", []string{"x", "s", "b"}, []string{"y"}, lower.IntAttr("num_groups", 2), lower.FloatAttr("epsilon", 1e-2)).
			Output("y", 2, 4, 3, 3),
		"instance": testmodel.New(13).Input("x", 2, 3, 5).
			Init("s", []int64{3}, randFloats(6, 3)...).Init("b", []int64{3}, randFloats(7, 3)...).
			Node("InstanceNormalization", []string{"x", "s", "b"}, []string{"y"}).
			Output("y", 2, 3, 5),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			m := b.Model()
			out := runPass(t, m, nil, pass(t, "decompose-layernorm"))
			if ops := opTypes(out); !slices.Contains(ops, "Pow") || slices.ContainsFunc(ops, func(s string) bool { return strings.HasSuffix(s, "Normalization") }) {
				t.Fatalf("ops %v", ops)
			}
			sameOutputs(t, m, out, b.RandomInputs(12), 1e-5)
		})
	}
}

func TestDecomposeSoftmaxOnlyWhenTheTargetNeedsIt(t *testing.T) {
	b := testmodel.New(13).Input("x", 2, 5, 7).
		Node("Softmax", []string{"x"}, []string{"s"}, lower.IntAttr("axis", 1)).
		Node("LogSoftmax", []string{"x"}, []string{"l"}).
		Output("s", 2, 5, 7).Output("l", 2, 5, 7)
	m := b.Model()
	kept := runPass(t, m, nil, pass(t, "decompose-softmax"))
	if got := opTypes(kept); !slices.Equal(got, []string{"Softmax", "LogSoftmax"}) {
		t.Errorf("without the target flag: ops %v", got)
	}
	ctx := &qpass.PassContext{NeedsDecomposition: qpass.Decompositions{Softmax: true}}
	out := runPass(t, m, ctx, pass(t, "decompose-softmax"))
	want := []string{"ReduceMax", "Sub", "Exp", "ReduceSum", "Reciprocal", "Mul",
		"ReduceMax", "Sub", "Exp", "ReduceSum", "Reciprocal", "Mul", "Log"}
	if got := opTypes(out); !slices.Equal(got, want) {
		t.Fatalf("ops %v, want %v", got, want)
	}
	if ax := out.Graph.Node[0].Attribute[0]; ax.GetName() != "axes" || !slices.Equal(ax.Ints, []int64{-2}) {
		t.Errorf("ReduceMax axes %v, want [-2]", ax.Ints)
	}
	sameOutputs(t, m, out, b.RandomInputs(13), 1e-5)
}

func TestDecomposeSkipsNodesThatWillNotBeQuantized(t *testing.T) {
	b := testmodel.New(17).Input("x", 2, 8).
		Init("g", []int64{8}, randFloats(1, 8)...).
		Node("LayerNormalization", []string{"x", "g"}, []string{"y"}).Output("y", 2, 8)
	ctx := &qpass.PassContext{ShouldQuantize: func(n *lower.Node) bool { return n.Target.OpType != "LayerNormalization" }}
	out := runPass(t, b.Model(), ctx, pass(t, "decompose-layernorm"))
	if got := opTypes(out); !slices.Equal(got, []string{"LayerNormalization"}) {
		t.Errorf("ops %v, want the LayerNormalization kept", got)
	}
}

func TestScalarsToTensorsMakesRankMatchedInitializers(t *testing.T) {
	b := testmodel.New(13).Input("x", 2, 3, 4).
		Const("k", nil, 3).
		Init("h", nil, 0.5).
		Node("Mul", []string{"x", "k"}, []string{"a"}).Shape("a", 2, 3, 4).
		Node("Add", []string{"h", "a"}, []string{"y"}).
		Output("y", 2, 3, 4)
	m := b.Model()
	out := runPass(t, m, nil, pass(t, "scalars-to-tensors"))
	if got := opTypes(out); !slices.Equal(got, []string{"Mul", "Add"}) {
		t.Fatalf("ops %v, want [Mul Add] (the Constant node gone)", got)
	}
	k := initializer(out, out.Graph.Node[0].Input[1])
	h := initializer(out, out.Graph.Node[1].Input[0])
	if k == nil || h == nil || !slices.Equal(k.Dims, []int64{1, 1, 1}) || !slices.Equal(h.Dims, []int64{1, 1, 1}) || k.FloatData[0] != 3 || h.FloatData[0] != 0.5 {
		t.Fatalf("scalars became %v and %v, want [1 1 1] initializers holding 3 and 0.5", k, h)
	}
	sameOutputs(t, m, out, b.RandomInputs(14), 1e-6)
}

func TestDivToMulUsesReciprocalConstantOrNode(t *testing.T) {
	b := testmodel.New(13).Input("x", 2, 3).Input("d", 2, 3).
		Init("four", []int64{1, 3}, 4, -0.5, 8).
		Node("Div", []string{"x", "four"}, []string{"a"}).
		Node("Div", []string{"a", "d"}, []string{"y"}).
		Output("y", 2, 3)
	m := b.Model()
	out := runPass(t, m, nil, pass(t, "div-to-mul"))
	if got := opTypes(out); !slices.Equal(got, []string{"Mul", "Reciprocal", "Mul"}) {
		t.Fatalf("ops %v, want [Mul Reciprocal Mul]", got)
	}
	if r := initializer(out, out.Graph.Node[0].Input[1]); !slices.Equal(r.FloatData, []float32{0.25, -2, 0.125}) || !slices.Equal(r.Dims, []int64{1, 3}) {
		t.Errorf("reciprocal %v %v, want [1 3] [0.25 -2 0.125]", r.Dims, r.FloatData)
	}
	sameOutputs(t, m, out, b.RandomInputs(15), 1e-6)
}

// geluModel writes GELU's Erf form in one of the orders exporters use.
func geluModel(opset int64, order string) *testmodel.Builder {
	b := testmodel.New(opset).Input("x", 2, 6).
		Init("sqrt2", nil, 1.4142135).Init("isqrt2", nil, 0.70710677).Init("one", nil, 1).Init("half", nil, 0.5)
	if order == "mul-isqrt2" {
		b.Node("Mul", []string{"isqrt2", "x"}, []string{"s"})
	} else {
		b.Node("Div", []string{"x", "sqrt2"}, []string{"s"})
	}
	b.Node("Erf", []string{"s"}, []string{"e"}).Node("Add", []string{"one", "e"}, []string{"p"})
	switch order {
	case "torch", "mul-isqrt2": // (x * (1+erf)) * 0.5
		b.Node("Mul", []string{"x", "p"}, []string{"q"}).Node("Mul", []string{"q", "half"}, []string{"y"})
	case "half-first": // (x * 0.5) * (1+erf)
		b.Node("Mul", []string{"half", "x"}, []string{"h"}).Node("Mul", []string{"h", "p"}, []string{"y"})
	case "half-on-sum": // ((1+erf) * 0.5) * x
		b.Node("Mul", []string{"p", "half"}, []string{"q"}).Node("Mul", []string{"x", "q"}, []string{"y"})
	}
	return b.Output("y", 2, 6)
}

func TestRecognizeGeluFindsEveryExporterOrderFromOpset20(t *testing.T) {
	for _, order := range []string{"torch", "mul-isqrt2", "half-first", "half-on-sum"} {
		b := geluModel(21, order)
		m := b.Model()
		out := runPass(t, m, nil, pass(t, "recognize-gelu"))
		if got := opTypes(out); !slices.Equal(got, []string{"Gelu"}) {
			t.Errorf("%s: ops %v, want [Gelu]", order, got)
			continue
		}
		if g := out.Graph.Node[0]; g.Input[0] != "x" || g.Output[0] != "y" {
			t.Errorf("%s: Gelu(%v) -> %v, want Gelu(x) -> y", order, g.Input, g.Output)
		}
		sameOutputs(t, m, out, b.RandomInputs(16), 1e-5)
	}
	low := runPass(t, geluModel(17, "torch").Model(), nil, pass(t, "recognize-gelu"))
	if slices.Contains(opTypes(low), "Gelu") {
		t.Errorf("opset 17: Gelu emitted (%v), but it exists only from opset 20", opTypes(low))
	}
}

func lstmModel(opset int64, dir string, layout int64, withStates bool) *testmodel.Builder {
	const seq, batch, in, hid = 3, 2, 4, 5
	dirs := int64(1)
	if dir == "bidirectional" {
		dirs = 2
	}
	b := testmodel.New(opset)
	xs := []int64{seq, batch, in}
	hs := []int64{dirs, batch, hid}
	if layout == 1 {
		xs = []int64{batch, seq, in}
		hs = []int64{batch, dirs, hid}
	}
	b.Input("x", xs...).
		Init("W", []int64{dirs, 4 * hid, in}, randFloats(20, int(dirs*4*hid*in))...).
		Init("R", []int64{dirs, 4 * hid, hid}, randFloats(21, int(dirs*4*hid*hid))...).
		Init("B", []int64{dirs, 8 * hid}, randFloats(22, int(dirs*8*hid))...)
	ins := []string{"x", "W", "R", "B", ""}
	if withStates {
		b.Input("h0", hs...).Input("c0", hs...).Init("P", []int64{dirs, 3 * hid}, randFloats(23, int(dirs*3*hid))...)
		ins = append(ins, "h0", "c0", "P")
	}
	ys := []int64{seq, dirs, batch, hid}
	if layout == 1 {
		ys = []int64{batch, seq, dirs, hid}
	}
	return b.Node("LSTM", ins, []string{"y", "yh", "yc"}, lower.IntAttr("hidden_size", hid),
		lower.StringAttr("direction", dir), lower.IntAttr("layout", layout)).
		Output("y", ys...).Output("yh", hs...).Output("yc", hs...)
}

func TestDecomposeLSTMMatchesONNXRuntime(t *testing.T) {
	for _, dir := range []string{"forward", "reverse", "bidirectional"} {
		for _, layout := range []int64{0, 1} {
			for _, states := range []bool{false, true} {
				b := lstmModel(14, dir, layout, states)
				m := b.Model()
				out := runPass(t, m, nil, pass(t, "decompose-lstm"))
				if ops := opTypes(out); slices.Contains(ops, "LSTM") || !slices.Contains(ops, "Sigmoid") {
					t.Fatalf("%s layout %d: ops %v", dir, layout, ops)
				}
				ref := m
				if layout == 1 {
					// ONNX Runtime runs only layout 0: the reference
					// transposes around a layout-0 LSTM.
					ref = batchFirstReference(dir, states)
				}
				sameOutputs(t, ref, out, b.RandomInputs(17), 1e-5)
			}
		}
	}
}

// batchFirstReference is lstmModel(layout 1) written with Transposes
// around a layout-0 LSTM.
func batchFirstReference(dir string, states bool) *onnxpb.ModelProto {
	b := lstmModel(14, dir, 0, states)
	m := b.Model()
	g := m.Graph
	lstm := g.Node[0]
	perm := func(p ...int64) *onnxpb.AttributeProto { return lower.IntsAttr("perm", p...) }
	var pre []*onnxpb.NodeProto
	for i, name := range []string{"x", "h0", "c0"} {
		if i > 0 && !states {
			break
		}
		p := perm(1, 0, 2)
		pre = append(pre, &onnxpb.NodeProto{OpType: proto.String("Transpose"), Input: []string{name}, Output: []string{name + "_t"}, Attribute: []*onnxpb.AttributeProto{p}})
		lstm.Input[map[string]int{"x": 0, "h0": 5, "c0": 6}[name]] = name + "_t"
	}
	lstm.Output = []string{"y_t", "yh_t", "yc_t"}
	post := []*onnxpb.NodeProto{
		{OpType: proto.String("Transpose"), Input: []string{"y_t"}, Output: []string{"y"}, Attribute: []*onnxpb.AttributeProto{perm(2, 0, 1, 3)}},
		{OpType: proto.String("Transpose"), Input: []string{"yh_t"}, Output: []string{"yh"}, Attribute: []*onnxpb.AttributeProto{perm(1, 0, 2)}},
		{OpType: proto.String("Transpose"), Input: []string{"yc_t"}, Output: []string{"yc"}, Attribute: []*onnxpb.AttributeProto{perm(1, 0, 2)}},
	}
	g.Node = append(append(pre, lstm), post...)
	for _, in := range g.Input {
		d := in.Type.GetTensorType().Shape.Dim
		d[0], d[1] = d[1], d[0]
	}
	for i, o := range g.Output {
		d := o.Type.GetTensorType().Shape.Dim
		if i == 0 {
			// (seq, dirs, batch, H) -> (batch, seq, dirs, H)
			d[0], d[1], d[2] = d[2], d[0], d[1]
		} else {
			d[0], d[1] = d[1], d[0]
		}
	}
	return m
}

func gruModel(dir string, lbr int64, withState, withBias bool) *testmodel.Builder {
	const seq, batch, in, hid = 4, 2, 3, 5
	dirs := int64(1)
	if dir == "bidirectional" {
		dirs = 2
	}
	b := testmodel.New(14).Input("x", seq, batch, in).
		Init("W", []int64{dirs, 3 * hid, in}, randFloats(30, int(dirs*3*hid*in))...).
		Init("R", []int64{dirs, 3 * hid, hid}, randFloats(31, int(dirs*3*hid*hid))...)
	ins := []string{"x", "W", "R", "", "", ""}
	if withBias {
		b.Init("B", []int64{dirs, 6 * hid}, randFloats(32, int(dirs*6*hid))...)
		ins[3] = "B"
	}
	if withState {
		b.Input("h0", dirs, batch, hid)
		ins[5] = "h0"
	}
	return b.Node("GRU", ins, []string{"y", "yh"}, lower.IntAttr("hidden_size", hid),
		lower.StringAttr("direction", dir), lower.IntAttr("linear_before_reset", lbr)).
		Output("y", seq, dirs, batch, hid).Output("yh", dirs, batch, hid)
}

func TestDecomposeGRUMatchesONNXRuntime(t *testing.T) {
	for _, dir := range []string{"forward", "reverse", "bidirectional"} {
		for _, lbr := range []int64{0, 1} {
			for _, state := range []bool{false, true} {
				for _, bias := range []bool{false, true} {
					b := gruModel(dir, lbr, state, bias)
					m := b.Model()
					out := runPass(t, m, nil, pass(t, "decompose-gru"))
					if ops := opTypes(out); slices.Contains(ops, "GRU") {
						t.Fatalf("GRU left: %v", ops)
					}
					sameOutputs(t, m, out, b.RandomInputs(18), 1e-5)
				}
			}
		}
	}
}

func TestDecomposeLSTMNamesTheNodeWhenTheSequenceLengthIsUnknown(t *testing.T) {
	b := lstmModel(14, "forward", 0, false)
	b.Graph().Input[0] = testmodel.ValueInfo("x", onnxpb.TensorProto_FLOAT, nil)
	gm, err := lower.Lower(b.Model(), "")
	if err != nil {
		t.Fatal(err)
	}
	err = qpass.RunPasses(gm, []qpass.Pass{pass(t, "decompose-lstm")}, &qpass.PassContext{})
	var ue *qpass.UnsupportedError
	if !errors.As(err, &ue) || ue.Node != "LSTM_y" || !strings.Contains(err.Error(), "sequence length") {
		t.Fatalf("error %v, want an UnsupportedError naming node LSTM_y and the sequence length", err)
	}
}

// A default-domain node without inputs (RandomNormal; a fuzzed model's
// node made FuzzCheckQuantize crash here) goes through every transform
// pass untouched.
func TestTransformPassesTakeNodesWithoutInputs(t *testing.T) {
	b := testmodel.New(13).Input("x", 1, 4).Output("y", 1, 4)
	b.Node("RandomNormal", nil, []string{"r"}, &onnxpb.AttributeProto{Name: proto.String("shape"),
		Type: onnxpb.AttributeProto_INTS.Enum(), Ints: []int64{1, 4}})
	b.Node("Add", []string{"x", "r"}, []string{"y"})
	out := runPass(t, b.Model(), &qpass.PassContext{TargetOpset: 13}, qpass.TransformForAnnotationPasses()...)
	if got := opTypes(out); !slices.Contains(got, "RandomNormal") {
		t.Errorf("ops after the passes %v, want RandomNormal kept", got)
	}
}
