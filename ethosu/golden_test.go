package ethosu_test

import (
	"bytes"
	"math"
	"slices"
	"testing"

	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
	"github.com/onnxquant/onnxquant/qpass"
)

// convReluModel is x[1,2,4,4] -> Conv(3 filters 3x3, pad 1, bias) -> Relu.
// Channel c's weights span ±(c+1)/4 so per-channel scales differ.
func convReluModel(opset int64) (*testmodel.Builder, []float32) {
	w := testmodel.Ramp(7, 3*2*3*3, -1, 1)
	for c := 0; c < 3; c++ {
		for i := 0; i < 18; i++ {
			w[c*18+i] *= float32(c+1) / 4
		}
	}
	b := testmodel.New(opset).Input("x", 1, 2, 4, 4).Output("y", 1, 3, 4, 4).
		Init("w", []int64{3, 2, 3, 3}, w...).Init("b", []int64{3}, 0.1, -0.2, 0.3).
		NamedNode("/conv/Conv", "Conv", []string{"x", "w", "b"}, []string{"c"}, lower.IntsAttr("pads", 1, 1, 1, 1)).
		NamedNode("/relu/Relu", "Relu", []string{"c"}, []string{"y"})
	return b, w
}

func u85() ethosu.CompileSpec { return ethosu.MustCompileSpec("ethos-u85-256") }

func TestConvReluIsFusedWithPerChannelWeightsAndDerivedBias(t *testing.T) {
	b, w := convReluModel(13)
	res, err := quantizeGraph(t, ethosu.NewEthosUQuantizer(u85()), b.Model(), writeSamples(t, b, 4))
	if err != nil {
		t.Fatal(err)
	}
	ix := indexGraph(res.Model.Graph)
	relu := ix.byOpType["Relu"][0]
	if p := ix.nodes[relu.Input[0]]; p.GetOpType() != "Conv" {
		t.Fatalf("Relu reads %s, want the Conv directly (fused, no Q/DQ between)", p.GetOpType())
	}
	conv := ix.byOpType["Conv"][0]
	in, wdq, bdq := ix.nodes[conv.Input[0]], ix.nodes[conv.Input[1]], ix.nodes[conv.Input[2]]
	for _, n := range []*onnxpb.NodeProto{in, wdq, bdq} {
		if n.GetOpType() != "DequantizeLinear" {
			t.Fatalf("Conv input made by %s, want DequantizeLinear", n.GetOpType())
		}
	}
	// Weights: int8, per channel along axis 0, scale max|w_c|/127.
	if wt := ix.inits[wdq.Input[0]]; wt.GetDataType() != int32(onnxpb.TensorProto_INT8) || !slices.Equal(wt.Dims, []int64{3, 2, 3, 3}) {
		t.Fatalf("weight initializer type %d dims %v", wt.GetDataType(), wt.Dims)
	}
	if axis := attrInt(wdq, "axis", 1); axis != 0 {
		t.Errorf("weight DequantizeLinear axis %d, want 0", axis)
	}
	ws, wz := ix.qparamsOf(t, wdq)
	if len(ws) != 3 {
		t.Fatalf("%d weight scales, want 3", len(ws))
	}
	for c := 0; c < 3; c++ {
		var amax float32
		for _, v := range w[c*18 : (c+1)*18] {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		if want := amax / 127; ws[c] != want || wz[c] != 0 {
			t.Errorf("channel %d: weight scale %v zp %d, want %v and 0", c, ws[c], wz[c], want)
		}
	}
	wq := ix.ints(t, wdq.Input[0])
	for c := 0; c < 3; c++ {
		hit := false
		for _, q := range wq[c*18 : (c+1)*18] {
			if q < -127 || q > 127 {
				t.Fatalf("weight %d outside [-127, 127]", q)
			}
			hit = hit || q == 127 || q == -127
		}
		if !hit {
			t.Errorf("channel %d: no weight reaches ±127", c)
		}
	}
	// Bias: int32, scale s_in·s_w per channel, zero point 0.
	if bt := ix.inits[bdq.Input[0]]; bt.GetDataType() != int32(onnxpb.TensorProto_INT32) {
		t.Fatalf("bias type %d, want int32", bt.GetDataType())
	}
	sIn, _ := ix.qparamsOf(t, in)
	bs, bz := ix.qparamsOf(t, bdq)
	for c := 0; c < 3; c++ {
		if bs[c] != sIn[0]*ws[c] || bz[c] != 0 {
			t.Errorf("channel %d: bias scale %v zp %d, want %v·%v = %v and 0", c, bs[c], bz[c], sIn[0], ws[c], sIn[0]*ws[c])
		}
	}
	bq := ix.ints(t, bdq.Input[0])
	for c, want := range []float32{0.1, -0.2, 0.3} {
		if got := float32(bq[c]) * bs[c]; math.Abs(float64(got-want)) > float64(bs[c]) {
			t.Errorf("channel %d: bias dequantizes to %v, want %v", c, got, want)
		}
	}
	// Activations: int8 with the output's Q/DQ after the Relu.
	q := ix.nodes[ix.nodes["y"].Input[0]]
	if ix.nodes["y"].GetOpType() != "DequantizeLinear" || q.GetOpType() != "QuantizeLinear" || q.Input[0] != relu.Output[0] {
		t.Errorf("graph output y is not Relu -> QuantizeLinear -> DequantizeLinear")
	}
	if zp := ix.inits[q.Input[2]]; zp.GetDataType() != int32(onnxpb.TensorProto_INT8) {
		t.Errorf("activation zero point type %d, want int8", zp.GetDataType())
	}
	runsInReference(t, res.Model, b, 0.1)
}

func TestA16W8UsesInt16ZeroPointZeroWithoutFusionAtOpset21(t *testing.T) {
	b, _ := convReluModel(13)
	q := ethosu.NewEthosUQuantizer(u85()).SetGlobal(qpass.SymmetricA16W8(true, false))
	res, err := quantizeGraph(t, q, b.Model(), writeSamples(t, b, 4))
	if err != nil {
		t.Fatal(err)
	}
	if v := opsetOf(res.Model); v != 21 {
		t.Errorf("opset %d, want 21 (int16 QuantizeLinear)", v)
	}
	ix := indexGraph(res.Model.Graph)
	relu := ix.byOpType["Relu"][0]
	if p := ix.nodes[relu.Input[0]]; p.GetOpType() != "DequantizeLinear" {
		t.Errorf("Relu reads %s, want a DequantizeLinear (no fusion with symmetric int16)", p.GetOpType())
	}
	for _, n := range ix.byOpType["QuantizeLinear"] {
		s, z := ix.qparamsOf(t, n)
		if zt := ix.inits[n.Input[2]]; zt.GetDataType() != int32(onnxpb.TensorProto_INT16) || z[0] != 0 || len(s) != 1 {
			t.Errorf("QuantizeLinear %q: zero point type %d value %v, want int16 0", n.GetName(), zt.GetDataType(), z)
		}
	}
	conv := ix.byOpType["Conv"][0]
	if wt := ix.inits[ix.nodes[conv.Input[1]].Input[0]]; wt.GetDataType() != int32(onnxpb.TensorProto_INT8) {
		t.Errorf("a16w8 weights type %d, want int8", wt.GetDataType())
	}
	runsInReference(t, res.Model, b, 0.01)
}

func TestConcatSharesOneScaleAcrossInputsAndOutput(t *testing.T) {
	b := testmodel.New(13).Input("a", 1, 2, 2, 2).Input("b", 1, 3, 2, 2).Output("y", 1, 5, 2, 2).
		NamedNode("cat", "Concat", []string{"a", "b"}, []string{"y"}, lower.IntAttr("axis", 1))
	res, err := quantizeGraph(t, ethosu.NewEthosUQuantizer(u85()), b.Model(), writeSamples(t, b, 3, [2]float32{-1, 1}, [2]float32{-4, 4}))
	if err != nil {
		t.Fatal(err)
	}
	ix := indexGraph(res.Model.Graph)
	cat := ix.byOpType["Concat"][0]
	out := firstUser(res.Model.Graph, cat.Output[0])
	nodes := []*onnxpb.NodeProto{ix.nodes[cat.Input[0]], ix.nodes[cat.Input[1]], out}
	s0, z0 := ix.qparamsOf(t, nodes[0])
	if s0[0] < 6.0/255 {
		t.Errorf("shared scale %v does not cover the wider input's ±4 range", s0[0])
	}
	for _, n := range nodes[1:] {
		s, z := ix.qparamsOf(t, n)
		if s[0] != s0[0] || z[0] != z0[0] {
			t.Errorf("%s %q: qparams %v/%v, want the shared %v/%v", n.GetOpType(), n.GetName(), s, z, s0, z0)
		}
	}
}

func TestMaxPoolAndReshapeKeepTheirInputQParams(t *testing.T) {
	b := testmodel.New(13).Input("x", 1, 2, 4, 4).Output("y", 1, 8).
		Init("w", []int64{2, 2, 1, 1}, 1, 0.5, -0.5, 2).InitInt64("shape", []int64{2}, 1, 8).
		NamedNode("conv", "Conv", []string{"x", "w"}, []string{"c"}).
		NamedNode("pool", "MaxPool", []string{"c"}, []string{"p"}, lower.IntsAttr("kernel_shape", 2, 2), lower.IntsAttr("strides", 2, 2)).
		NamedNode("reshape", "Reshape", []string{"p", "shape"}, []string{"y"})
	res, err := quantizeGraph(t, ethosu.NewEthosUQuantizer(u85()), b.Model(), writeSamples(t, b, 3))
	if err != nil {
		t.Fatal(err)
	}
	ix := indexGraph(res.Model.Graph)
	pool, reshape := ix.byOpType["MaxPool"][0], ix.byOpType["Reshape"][0]
	in := ix.nodes[pool.Input[0]]
	if in.GetOpType() != "DequantizeLinear" {
		t.Fatalf("MaxPool reads %s", in.GetOpType())
	}
	s0, z0 := ix.qparamsOf(t, in)
	for _, n := range []*onnxpb.NodeProto{firstUser(res.Model.Graph, pool.Output[0]), ix.nodes[reshape.Input[0]], firstUser(res.Model.Graph, reshape.Output[0])} {
		s, z := ix.qparamsOf(t, n)
		if s[0] != s0[0] || z[0] != z0[0] {
			t.Errorf("%s %q: qparams %v/%v, want MaxPool input's %v/%v", n.GetOpType(), n.GetName(), s, z, s0, z0)
		}
	}
}

func TestAddQuantizesEachInputAndTheOutputIndependently(t *testing.T) {
	b := testmodel.New(13).Input("a", 1, 4).Input("b", 1, 4).Output("y", 1, 4).
		NamedNode("add", "Add", []string{"a", "b"}, []string{"y"})
	res, err := quantizeGraph(t, ethosu.NewEthosUQuantizer(u85()), b.Model(), writeSamples(t, b, 3, [2]float32{-1, 1}, [2]float32{-8, 8}))
	if err != nil {
		t.Fatal(err)
	}
	ix := indexGraph(res.Model.Graph)
	add := ix.byOpType["Add"][0]
	sa, _ := ix.qparamsOf(t, ix.nodes[add.Input[0]])
	sb, _ := ix.qparamsOf(t, ix.nodes[add.Input[1]])
	sy, _ := ix.qparamsOf(t, firstUser(res.Model.Graph, add.Output[0]))
	if sa[0] == sb[0] || sa[0] == sy[0] || sb[0] == sy[0] {
		t.Errorf("scales a %v, b %v, out %v: want three independent ones", sa, sb, sy)
	}
	// b spans ±8 (scale ≈ 16/255), a ±1 (≈ 2/255).
	if sb[0] < 4*sa[0] {
		t.Errorf("scale of b %v is not about 8× that of a %v", sb[0], sa[0])
	}
}

// twoInTwoOut has inputs b, a (in that order) and outputs sum, cat.
func twoInTwoOut() *testmodel.Builder {
	return testmodel.New(13).Input("b", 1, 4).Input("a", 1, 4).Output("sum", 1, 4).Output("cat", 1, 8).
		NamedNode("add", "Add", []string{"a", "b"}, []string{"sum"}).
		NamedNode("concat", "Concat", []string{"sum", "a"}, []string{"cat"}, lower.IntAttr("axis", 1))
}

func TestGraphInputsAndOutputsKeepNamesAndOrder(t *testing.T) {
	b := twoInTwoOut()
	res, err := quantizeGraph(t, ethosu.NewEthosUQuantizer(u85()), b.Model(), writeSamples(t, b, 3))
	if err != nil {
		t.Fatal(err)
	}
	var ins, outs []string
	for _, v := range res.Model.Graph.Input {
		ins = append(ins, v.GetName())
	}
	for _, v := range res.Model.Graph.Output {
		outs = append(outs, v.GetName())
		if v.GetType().GetTensorType().GetElemType() != int32(onnxpb.TensorProto_FLOAT) {
			t.Errorf("output %q is no longer float", v.GetName())
		}
	}
	if !slices.Equal(ins, []string{"b", "a"}) || !slices.Equal(outs, []string{"sum", "cat"}) {
		t.Errorf("inputs %v outputs %v, want [b a] and [sum cat]", ins, outs)
	}
	ix := indexGraph(res.Model.Graph)
	for _, o := range outs {
		if ix.nodes[o].GetOpType() != "DequantizeLinear" {
			t.Errorf("output %q made by %s, want DequantizeLinear", o, ix.nodes[o].GetOpType())
		}
	}
	runsInReference(t, res.Model, b, 0.15)
}

func TestQuantizingTwiceGivesIdenticalBytes(t *testing.T) {
	b, _ := convReluModel(13)
	dir := writeSamples(t, b, 3)
	var first []byte
	for i := 0; i < 2; i++ {
		res, err := quantizeGraph(t, ethosu.NewEthosUQuantizer(u85()), b.Model(), dir)
		if err != nil {
			t.Fatal(err)
		}
		got := marshal(t, res.Model)
		if i == 1 && !bytes.Equal(first, got) {
			t.Errorf("second quantization differs (%d vs %d bytes)", len(first), len(got))
		}
		first = got
	}
}

func attrInt(n *onnxpb.NodeProto, name string, def int64) int64 {
	for _, a := range n.Attribute {
		if a.GetName() == name {
			return a.GetI()
		}
	}
	return def
}

func opsetOf(m *onnxpb.ModelProto) int64 {
	for _, o := range m.OpsetImport {
		if o.GetDomain() == "" || o.GetDomain() == "ai.onnx" {
			return o.GetVersion()
		}
	}
	return 0
}

func firstUser(g *onnxpb.GraphProto, v string) *onnxpb.NodeProto {
	for _, n := range g.Node {
		if slices.Contains(n.Input, v) {
			return n
		}
	}
	return nil
}
