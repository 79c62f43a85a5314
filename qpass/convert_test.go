package qpass_test

import (
	"math"
	"testing"

	"github.com/onnxquant/onnxquant/internal/onnxdense"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
	"github.com/onnxquant/onnxquant/qpass"
)

// convertConvRelu annotates the Conv+Relu graph and converts it with
// hand-chosen qparams: input 0.02/-3, weights 1/8, 1/16, 1/32 per channel,
// output 0.05/5.
func convertConvRelu(t *testing.T) (*onnxpb.ModelProto, []float32) {
	t.Helper()
	b := convReluGraph()
	gm := lowerInferred(t, b.Model())
	ann := annotate(t, gm, &qpass.ConfigSet{Global: qpass.SymmetricInt8(true, false)})
	conv, relu := nodeOf(t, gm, "Conv"), nodeOf(t, gm, "Relu")
	ws := []float32{1.0 / 8, 1.0 / 16, 1.0 / 32}
	qp := map[int]qpass.QParams{
		ann.InputPoint(conv, 0).ID:          {Scale: []float32{0.02}, ZeroPoint: []int32{-3}},
		ann.InputPoint(conv, 1).ID:          {Scale: ws, ZeroPoint: []int32{0, 0, 0}, Axis: 0},
		ann.OutputPoint(relu.Outputs[0]).ID: {Scale: []float32{0.05}, ZeroPoint: []int32{5}},
	}
	if err := qpass.ConvertToQDQ(gm, ann, qp); err != nil {
		t.Fatal(err)
	}
	m, err := lower.Raise(gm)
	if err != nil {
		t.Fatal(err)
	}
	return m, ws
}

func producers(m *onnxpb.ModelProto) map[string]*onnxpb.NodeProto {
	out := map[string]*onnxpb.NodeProto{}
	for _, n := range m.Graph.Node {
		for _, o := range n.Output {
			out[o] = n
		}
	}
	return out
}

func tensorInts(t *testing.T, m *onnxpb.ModelProto, name string) []int64 {
	t.Helper()
	init := initializer(m, name)
	if init == nil {
		t.Fatalf("no initializer %q", name)
	}
	d, err := onnxdense.ToDense(init, "")
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	switch v := d.Data().(type) {
	case []int8:
		for _, x := range v {
			out = append(out, int64(x))
		}
	case []int32:
		for _, x := range v {
			out = append(out, int64(x))
		}
	case int8:
		out = append(out, int64(v))
	default:
		t.Fatalf("%q holds %T", name, v)
	}
	return out
}

func tensorFloats(t *testing.T, m *onnxpb.ModelProto, name string) []float32 {
	t.Helper()
	v, err := onnxio.Float32s(initializer(m, name), "")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestConvertWritesIntegerWeightsAndDerivedBias(t *testing.T) {
	m, ws := convertConvRelu(t)
	prod := producers(m)
	var conv *onnxpb.NodeProto
	for _, n := range m.Graph.Node {
		if n.GetOpType() == "Conv" {
			conv = n
		}
	}
	wdq, bdq, xdq := prod[conv.Input[1]], prod[conv.Input[2]], prod[conv.Input[0]]
	if wdq.GetOpType() != "DequantizeLinear" || bdq.GetOpType() != "DequantizeLinear" || xdq.GetOpType() != "DequantizeLinear" {
		t.Fatalf("Conv inputs made by %s, %s, %s", xdq.GetOpType(), wdq.GetOpType(), bdq.GetOpType())
	}
	if xq := prod[xdq.Input[0]]; xq.GetOpType() != "QuantizeLinear" || xq.Input[0] != "x" {
		t.Errorf("input x is not read by QuantizeLinear -> DequantizeLinear")
	}
	// Weight i of convReluGraph is (i%7-3)/8; channel c's scale is
	// 1/8·2^-c, so the integer is (i%7-3)·2^c.
	wq := tensorInts(t, m, wdq.Input[0])
	for i, q := range wq {
		c := i / 18
		if want := int64(i%7-3) << c; q != want {
			t.Fatalf("weight %d (channel %d) quantized to %d, want %d", i, c, q, want)
		}
	}
	// Bias: scale 0.02·w_c exactly, integer round(b/scale).
	bs := tensorFloats(t, m, bdq.Input[1])
	bq := tensorInts(t, m, bdq.Input[0])
	for c, b := range []float32{0.5, -0.25, 1} {
		scale := float32(0.02) * ws[c]
		if bs[c] != scale {
			t.Errorf("bias scale %d: %v, want %v", c, bs[c], scale)
		}
		if want := int64(math.RoundToEven(float64(b) / float64(scale))); bq[c] != want {
			t.Errorf("bias %d: %d, want %d", c, bq[c], want)
		}
	}
	if zp := tensorInts(t, m, bdq.Input[2]); zp[0] != 0 || zp[1] != 0 || zp[2] != 0 {
		t.Errorf("bias zero points %v, want 0", zp)
	}
	// The graph output keeps its name and is dequantized with 0.05/5.
	if len(m.Graph.Output) != 1 || m.Graph.Output[0].GetName() != "y" {
		t.Fatalf("outputs %v", m.Graph.Output)
	}
	ydq := prod["y"]
	if ydq.GetOpType() != "DequantizeLinear" || tensorFloats(t, m, ydq.Input[1])[0] != 0.05 || tensorInts(t, m, ydq.Input[2])[0] != 5 {
		t.Errorf("output y made by %s with the wrong qparams", ydq.GetOpType())
	}
	if relu := prod[prod[ydq.Input[0]].Input[0]]; relu.GetOpType() != "Relu" || prod[relu.Input[0]] != conv {
		t.Errorf("expected Conv -> Relu -> Q -> DQ -> y")
	}
}

func TestConvertNeedsQParamsForEveryPoint(t *testing.T) {
	gm := lowerInferred(t, convReluGraph().Model())
	ann := annotate(t, gm, &qpass.ConfigSet{Global: qpass.SymmetricInt8(true, false)})
	if err := qpass.ConvertToQDQ(gm, ann, map[int]qpass.QParams{}); err == nil {
		t.Fatal("conversion without qparams succeeded")
	}
}
