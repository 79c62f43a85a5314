package tflite

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

const i8 = onnxpb.TensorProto_INT8

// convModel is x[1,3,8,8] -> Conv(2 out, 3x3, stride, pads 1) -> act -> y.
func convModel(stride int64, act string) (*qdqBuilder, []int64) {
	b := newQDQ()
	x := b.input("x", i8, 0.05, -3, 1, 3, 8, 8)
	wv := seq(2*3*3*3, func(i int) int64 { return int64(i%21) - 10 })
	w := b.weight("w", i8, []int64{2, 3, 3, 3}, wv, []float32{0.01, 0.02}, 0)
	bias := b.weight("b", onnxpb.TensorProto_INT32, []int64{2}, []int64{100, -50}, []float32{0.05 * 0.01, 0.05 * 0.02}, 0)
	b.node("Conv", "conv", []string{x, w, bias}, []string{"c"}, attrIs("kernel_shape", 3, 3), attrIs("strides", stride, stride), attrIs("pads", 1, 1, 1, 1))
	out := "c"
	switch act {
	case "Relu":
		b.node("Relu", "relu", []string{"c"}, []string{"r"})
		out = "r"
	case "Relu6":
		b.init("lo", onnxpb.TensorProto_FLOAT, nil, f32raw(0))
		b.init("hi", onnxpb.TensorProto_FLOAT, nil, f32raw(6))
		b.node("Clip", "clip", []string{"c", "lo", "hi"}, []string{"r"})
		out = "r"
	}
	zp := int64(5)
	if act != "" {
		zp = -128
	}
	b.output(out, "y", i8, 0.1, zp)
	return b, wv
}

func TestExportConvWeightsBiasAndPadding(t *testing.T) {
	b, wv := convModel(1, "Relu")
	m := mustExport(t, b, ExportOptions{})
	if got := ops(m); !reflect.DeepEqual(got, []BuiltinOp{OpConv2D}) {
		t.Fatalf("ops %v, want [CONV_2D] (pads 1 at stride 1 are SAME)", got)
	}
	conv := m.Operators[0]
	if conv.Options.Int(slotConvPadding) != int64(PaddingSame) || conv.Options.Int(slotConvAct) != int64(ActRelu) {
		t.Errorf("padding %d, activation %d; want SAME and fused RELU", conv.Options.Int(slotConvPadding), conv.Options.Int(slotConvAct))
	}
	in, w, bias, out := m.Tensors[conv.Inputs[0]], m.Tensors[conv.Inputs[1]], m.Tensors[conv.Inputs[2]], m.Tensors[conv.Outputs[0]]
	if !reflect.DeepEqual(in.Shape, []int32{1, 8, 8, 3}) || !reflect.DeepEqual(out.Shape, []int32{1, 8, 8, 2}) {
		t.Errorf("input %v output %v, want NHWC [1 8 8 3] and [1 8 8 2]", in.Shape, out.Shape)
	}
	if in.Type != Int8 || in.Quant.Scale[0] != 0.05 || in.Quant.ZeroPoint[0] != -3 {
		t.Errorf("input %s %+v", in.Type, in.Quant)
	}
	if out.Quant.Scale[0] != 0.1 || out.Quant.ZeroPoint[0] != -128 {
		t.Errorf("output quant %+v", out.Quant)
	}
	// OHWI: w[o,y,x,i] = W[o,i,y,x].
	got := decodeInts(w)
	for o := 0; o < 2; o++ {
		for i := 0; i < 3; i++ {
			for y := 0; y < 3; y++ {
				for x := 0; x < 3; x++ {
					if a, e := got[((o*3+y)*3+x)*3+i], wv[((o*3+i)*3+y)*3+x]; a != e {
						t.Fatalf("weight [o%d y%d x%d i%d] = %d, want %d", o, y, x, i, a, e)
					}
				}
			}
		}
	}
	if !reflect.DeepEqual(w.Shape, []int32{2, 3, 3, 3}) || w.Quant.Axis != 0 || !reflect.DeepEqual(w.Quant.Scale, []float32{0.01, 0.02}) {
		t.Errorf("weights %v axis %d scales %v", w.Shape, w.Quant.Axis, w.Quant.Scale)
	}
	if bias.Type != Int32 || !reflect.DeepEqual(decodeInts(bias), []int64{100, -50}) {
		t.Errorf("bias %s %v", bias.Type, decodeInts(bias))
	}
	for c, s := range bias.Quant.Scale {
		want := float32(float64(float32(0.05)) * float64(w.Quant.Scale[c]))
		if s != want {
			t.Errorf("bias scale[%d] %g, want input × weight scale %g", c, s, want)
		}
	}
}

func TestExportConvStride2PadsNeedExplicitPad(t *testing.T) {
	// ONNX pads (1,1) at stride 2 on an even input read the top/left pad;
	// TFLite's SAME would pad bottom/right instead.
	b, _ := convModel(2, "Relu6")
	m := mustExport(t, b, ExportOptions{})
	if got := ops(m); !reflect.DeepEqual(got, []BuiltinOp{OpPad, OpConv2D}) {
		t.Fatalf("ops %v, want [PAD CONV_2D]", got)
	}
	pads := decodeInts(m.Tensors[m.Operators[0].Inputs[1]])
	if !reflect.DeepEqual(pads, []int64{0, 0, 1, 0, 1, 0, 0, 0}) {
		t.Errorf("paddings %v, want NHWC [[0 0] [1 0] [1 0] [0 0]] (the bottom/right pad is never read)", pads)
	}
	conv := m.Operators[1]
	if conv.Options.Int(slotConvPadding) != int64(PaddingValid) || conv.Options.Int(slotConvAct) != int64(ActRelu6) {
		t.Errorf("padding %d activation %d, want VALID and RELU6", conv.Options.Int(slotConvPadding), conv.Options.Int(slotConvAct))
	}
	if s := m.Tensors[conv.Outputs[0]].Shape; !reflect.DeepEqual(s, []int32{1, 4, 4, 2}) {
		t.Errorf("output %v", s)
	}
}

func TestExportDepthwise(t *testing.T) {
	b := newQDQ()
	x := b.input("x", i8, 0.05, 0, 1, 3, 6, 6)
	wv := seq(3*9, func(i int) int64 { return int64(i) - 13 })
	w := b.weight("w", i8, []int64{3, 1, 3, 3}, wv, []float32{0.01, 0.02, 0.03}, 0)
	b.node("Conv", "dw", []string{x, w}, []string{"c"}, attrIs("kernel_shape", 3, 3), attrI("group", 3))
	b.output("c", "y", i8, 0.1, 0)
	m := mustExport(t, b, ExportOptions{})
	op := m.Operators[0]
	if op.Op != OpDepthwiseConv2D || op.Options.Int(slotDWMultiplier) != 1 {
		t.Fatalf("%v multiplier %d", op.Op, op.Options.Int(slotDWMultiplier))
	}
	w2 := m.Tensors[op.Inputs[1]]
	if !reflect.DeepEqual(w2.Shape, []int32{1, 3, 3, 3}) || w2.Quant.Axis != 3 {
		t.Errorf("weights %v axis %d, want [1 3 3 3] axis 3", w2.Shape, w2.Quant.Axis)
	}
	got := decodeInts(w2)
	for o := 0; o < 3; o++ {
		for k := 0; k < 9; k++ {
			if got[k*3+o] != wv[o*9+k] {
				t.Fatalf("weight tap %d channel %d = %d, want %d", k, o, got[k*3+o], wv[o*9+k])
			}
		}
	}
	if b := m.Tensors[op.Inputs[2]]; !reflect.DeepEqual(decodeInts(b), []int64{0, 0, 0}) || len(b.Quant.Scale) != 3 {
		t.Errorf("absent bias: %v %v", decodeInts(b), b.Quant)
	}
}

func TestExportFlattenOrderFoldedIntoFC(t *testing.T) {
	// x [1,2,2,2] -> MaxPool 1x1 (keeps NHWC) -> Flatten -> Gemm: the FC
	// weights must take the NHWC flattening order, with no TRANSPOSE.
	b := newQDQ()
	x := b.input("x", i8, 0.05, 0, 1, 2, 2, 2)
	b.node("MaxPool", "pool", []string{x}, []string{"p"}, attrIs("kernel_shape", 1, 1))
	p := b.qdq("p", i8, 0.05, 0)
	b.node("Flatten", "flat", []string{p}, []string{"f"})
	f := b.qdq("f", i8, 0.05, 0)
	wv := seq(3*8, func(i int) int64 { return int64(i) })
	w := b.weight("w", i8, []int64{3, 8}, wv, []float32{0.1, 0.1, 0.1}, 0)
	b.node("Gemm", "fc", []string{f, w}, []string{"g"}, attrI("transB", 1))
	b.output("g", "y", i8, 0.2, 0)
	m := mustExport(t, b, ExportOptions{})
	if got := ops(m); !reflect.DeepEqual(got, []BuiltinOp{OpMaxPool2D, OpReshape, OpFullyConnected}) {
		t.Fatalf("ops %v", got)
	}
	fc := m.Operators[2]
	got := decodeInts(m.Tensors[fc.Inputs[1]])
	// TFLite column (h*W+w)*C+c holds ONNX column c*H*W+h*W+w.
	for o := 0; o < 3; o++ {
		for h := 0; h < 2; h++ {
			for ww := 0; ww < 2; ww++ {
				for c := 0; c < 2; c++ {
					j, k := (h*2+ww)*2+c, c*4+h*2+ww
					if got[o*8+j] != wv[o*8+k] {
						t.Fatalf("FC weight [%d,%d] = %d, want ONNX column %d (%d)", o, j, got[o*8+j], k, wv[o*8+k])
					}
				}
			}
		}
	}
}

func TestExportHardSigmoidAsDepthwise(t *testing.T) {
	b := newQDQ()
	x := b.input("x", i8, 0.05, 0, 1, 4, 2, 2)
	b.node("GlobalAveragePool", "gap", []string{x}, []string{"g"})
	g := b.qdq("g", i8, 0.04, 0)
	b.node("HardSigmoid", "hsig", []string{g}, []string{"h"}, attrF("alpha", 1.0/6), attrF("beta", 0.5))
	b.output("h", "y", i8, 1.0/255, -128)
	m := mustExport(t, b, ExportOptions{})
	if got := ops(m); !reflect.DeepEqual(got, []BuiltinOp{OpMean, OpDepthwiseConv2D}) {
		t.Fatalf("ops %v", got)
	}
	dw := m.Operators[1]
	w, bias := m.Tensors[dw.Inputs[1]], m.Tensors[dw.Inputs[2]]
	if !reflect.DeepEqual(decodeInts(w), []int64{127, 127, 127, 127}) || w.Quant.Scale[0] != float32(1.0/6/127) {
		t.Errorf("weights %v scale %g, want 127 at alpha/127", decodeInts(w), w.Quant.Scale[0])
	}
	// beta = 0.5 at scale 0.04 × alpha/127.
	want := int64(math.RoundToEven(0.5 / (float64(float32(0.04)) * float64(float32(1.0/6/127)))))
	if got := decodeInts(bias); got[0] != want {
		t.Errorf("bias %d, want %d", got[0], want)
	}
	// The output range [0, 1] of the type itself is the clamp.
	if a := dw.Options.Int(4); a != int64(ActNone) {
		t.Errorf("fused activation %d, want none", a)
	}
}

func TestExportFixedOutputScales(t *testing.T) {
	for _, tc := range []struct {
		scale float32
		zp    int64
		want  []BuiltinOp
	}{
		{1.0 / 256, -128, []BuiltinOp{OpLogistic}},
		{1.0 / 255, -128, []BuiltinOp{OpLogistic, OpQuantize}},
	} {
		b := newQDQ()
		x := b.input("x", i8, 0.05, 0, 1, 16)
		b.node("Sigmoid", "sig", []string{x}, []string{"s"})
		b.output("s", "y", i8, tc.scale, tc.zp)
		m := mustExport(t, b, ExportOptions{})
		if got := ops(m); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("output scale %g: ops %v, want %v", tc.scale, got, tc.want)
			continue
		}
		q := m.Tensors[m.Operators[0].Outputs[0]].Quant
		if q.Scale[0] != 1.0/256 || q.ZeroPoint[0] != -128 {
			t.Errorf("LOGISTIC output %+v, want TFLite's fixed 1/256, -128", q)
		}
		if y := m.Tensors[m.Outputs[0]]; y.Quant.Scale[0] != tc.scale {
			t.Errorf("model output scale %g, want the quantizer's %g", y.Quant.Scale[0], tc.scale)
		}
	}
}

func TestExportClipAsMinMax(t *testing.T) {
	b := newQDQ()
	x := b.input("x", i8, 0.05, 0, 1, 16)
	b.init("lo", onnxpb.TensorProto_FLOAT, nil, f32raw(-0.5))
	b.init("hi", onnxpb.TensorProto_FLOAT, nil, f32raw(2))
	b.node("Clip", "clip", []string{x, "lo", "hi"}, []string{"c"})
	b.output("c", "y", i8, 0.05, 0)
	m := mustExport(t, b, ExportOptions{})
	if got := ops(m); !reflect.DeepEqual(got, []BuiltinOp{OpMaximum, OpMinimum}) {
		t.Fatalf("ops %v", got)
	}
	if lo := decodeInts(m.Tensors[m.Operators[0].Inputs[1]]); lo[0] != -10 {
		t.Errorf("lower bound %d, want -0.5/0.05 = -10", lo[0])
	}
	if hi := decodeInts(m.Tensors[m.Operators[1].Inputs[1]]); hi[0] != 40 {
		t.Errorf("upper bound %d, want 2/0.05 = 40", hi[0])
	}
}

func TestExportMaxPoolPadsWithLowestValue(t *testing.T) {
	b := newQDQ()
	x := b.input("x", i8, 0.05, 0, 1, 2, 8, 8)
	b.node("MaxPool", "pool", []string{x}, []string{"p"}, attrIs("kernel_shape", 3, 3), attrIs("strides", 2, 2), attrIs("pads", 1, 1, 1, 1))
	b.output("p", "y", i8, 0.05, 0)
	m := mustExport(t, b, ExportOptions{})
	if got := ops(m); !reflect.DeepEqual(got, []BuiltinOp{OpPadV2, OpMaxPool2D}) {
		t.Fatalf("ops %v", got)
	}
	if v := decodeInts(m.Tensors[m.Operators[0].Inputs[2]]); v[0] != -128 {
		t.Errorf("pad value %d, want -128 (padding must never be the maximum)", v[0])
	}
}

func TestExportFloatIO(t *testing.T) {
	b, _ := convModel(1, "")
	m := mustExport(t, b, ExportOptions{FloatIO: true})
	got := ops(m)
	if got[0] != OpQuantize || got[len(got)-1] != OpDequantize {
		t.Fatalf("ops %v, want QUANTIZE first and DEQUANTIZE last", got)
	}
	if m.Tensors[m.Inputs[0]].Type != Float32 || m.Tensors[m.Outputs[0]].Type != Float32 {
		t.Errorf("I/O types %s, %s", m.Tensors[m.Inputs[0]].Type, m.Tensors[m.Outputs[0]].Type)
	}
	var meta struct {
		FloatIO bool   `json:"float_io"`
		Purpose string `json:"purpose"`
	}
	for _, md := range m.Metadata {
		if md.Name == MetadataName {
			if err := json.Unmarshal(md.Data, &meta); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !meta.FloatIO || !strings.Contains(meta.Purpose, "not for deployment") {
		t.Errorf("metadata %+v does not mark a verification copy", meta)
	}
	if err := Check(m, "ethos-u55-128"); err != nil {
		t.Errorf("Check refuses the float edges: %v", err)
	}
}

func TestExportRefusals(t *testing.T) {
	b := newQDQ()
	x := b.input("x", i8, 0.05, 0, 1, 16)
	b.node("Sin", "sin", []string{x}, []string{"e"})
	b.output("e", "y", i8, 0.01, 0)
	_, err := Export(b.model(), ExportOptions{Target: "ethos-u55-128"})
	var ne *NodeError
	if !errors.As(err, &ne) || !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), `node "sin" (Sin)`) {
		t.Errorf("Sin: %v", err)
	}

	b = newQDQ()
	x = b.input("x", i8, 0.05, 0, 1, 16)
	b.node("If", "/branch/If", []string{x}, []string{"e"})
	b.output("e", "y", i8, 0.01, 0)
	_, err = Export(b.model(), ExportOptions{Target: "ethos-u55-128"})
	var cf *ControlFlowError
	if !errors.As(err, &cf) || !strings.Contains(err.Error(), `If "/branch/If"`) || !strings.Contains(err.Error(), "--branch") {
		t.Errorf("If: %v", err)
	}
}

func TestCheckRules(t *testing.T) {
	b, _ := convModel(1, "")
	m, err := Export(b.model(), ExportOptions{Target: "ethos-u55-128"})
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(m, "ethos-u55-128"); err != nil {
		t.Fatalf("legal model refused: %v", err)
	}
	// Per-axis qparams on an activation, an asymmetric weight, a bias
	// beyond 2^40 in int64.
	out := m.Tensors[m.Outputs[0]]
	out.Quant = &Quant{Scale: []float32{0.1, 0.1}, ZeroPoint: []int64{0, 0}, Axis: 3}
	w := m.Tensors[m.Operators[0].Inputs[1]]
	w.Quant.ZeroPoint[1] = 3
	bias := m.Tensors[m.Operators[0].Inputs[2]]
	bias.Type = Int64
	bias.Data = encode(Int64, []int64{1 << 41, 0})
	err = Check(m, "ethos-u55-128")
	var ce *CheckError
	if !errors.As(err, &ce) || len(ce.Problems) != 3 {
		t.Fatalf("want 3 problems, got %v", err)
	}
	if err := Check(m, "ethos-u85-256"); err == nil || strings.Contains(err.Error(), "beyond") {
		t.Errorf("U85 allows int64 bias up to 2^48: %v", err)
	}
}

func TestExportUint8IOBoundaryQuantize(t *testing.T) {
	// io: uint8 — the input is quantized to uint8, requantized to int8 for
	// the network, and the output goes back to uint8.
	b := newQDQ()
	u8 := b.input("x", onnxpb.TensorProto_UINT8, 0.05, 128, 1, 16)
	b.init("s8", onnxpb.TensorProto_FLOAT, nil, f32raw(0.05))
	b.init("z8", i8, nil, intRaw(i8, 0))
	b.node("QuantizeLinear", "x_to_int8", []string{u8, "s8", "z8"}, []string{"x8_q"})
	b.node("DequantizeLinear", "x8_dq", []string{"x8_q", "s8", "z8"}, []string{"x8"})
	b.node("Relu", "relu", []string{"x8"}, []string{"r"})
	r := b.qdq("r", i8, 0.05, -128)
	b.output(r, "y", onnxpb.TensorProto_UINT8, 0.05, 0)
	m := mustExport(t, b, ExportOptions{})
	if got := ops(m); !reflect.DeepEqual(got, []BuiltinOp{OpQuantize, OpRelu, OpQuantize}) {
		t.Fatalf("ops %v, want QUANTIZE RELU QUANTIZE", got)
	}
	in, out := m.Tensors[m.Inputs[0]], m.Tensors[m.Outputs[0]]
	if in.Type != Uint8 || in.Quant.ZeroPoint[0] != 128 || out.Type != Uint8 {
		t.Errorf("input %s zp %d, output %s; want uint8 at both ends", in.Type, in.Quant.ZeroPoint[0], out.Type)
	}
	if mid := m.Tensors[m.Operators[0].Outputs[0]]; mid.Type != Int8 {
		t.Errorf("network side %s, want INT8", mid.Type)
	}
	if err := Check(m, "ethos-u55-128"); err != nil {
		t.Error(err)
	}
}

func TestExportPerTensorWeightsGetPerTensorBias(t *testing.T) {
	b := newQDQ()
	x := b.input("x", i8, 0.05, 0, 1, 3, 4, 4)
	w := b.weight("w", i8, []int64{2, 3, 1, 1}, seq(6, func(i int) int64 { return int64(i) }), []float32{0.01}, 0)
	bias := b.weight("b", onnxpb.TensorProto_INT32, []int64{2}, []int64{5, 6}, []float32{0.05 * 0.01}, 0)
	b.node("Conv", "conv", []string{x, w, bias}, []string{"c"}, attrIs("kernel_shape", 1, 1))
	b.output("c", "y", i8, 0.1, 0)
	m := mustExport(t, b, ExportOptions{})
	bq := m.Tensors[m.Operators[0].Inputs[2]].Quant
	if len(bq.Scale) != 1 || len(bq.ZeroPoint) != 1 {
		t.Errorf("bias of per-tensor weights has %d scales, want 1", len(bq.Scale))
	}
}

func TestSelectBranchKeepsWhatBodiesCapture(t *testing.T) {
	// Then-branch: Relu(x); after the If, a Loop whose body reads the
	// outer constant "w": pruning must keep w's producer.
	b := newQDQ()
	x := b.input("x", i8, 0.05, 0, 1, 4)
	b.init("w", onnxpb.TensorProto_FLOAT, []int64{1}, f32raw(2))
	then := &onnxpb.GraphProto{Node: []*onnxpb.NodeProto{{OpType: proto.String("Relu"), Input: []string{x}, Output: []string{"t"}}},
		Output: []*onnxpb.ValueInfoProto{{Name: proto.String("t")}}}
	els := &onnxpb.GraphProto{Node: []*onnxpb.NodeProto{{OpType: proto.String("Neg"), Input: []string{x}, Output: []string{"e"}}},
		Output: []*onnxpb.ValueInfoProto{{Name: proto.String("e")}}}
	b.g.Node = append(b.g.Node, &onnxpb.NodeProto{OpType: proto.String("If"), Name: proto.String("if"), Input: []string{"cond"}, Output: []string{"r"},
		Attribute: []*onnxpb.AttributeProto{
			{Name: proto.String("then_branch"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: then},
			{Name: proto.String("else_branch"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: els},
		}})
	body := &onnxpb.GraphProto{Node: []*onnxpb.NodeProto{{OpType: proto.String("Mul"), Input: []string{"r", "w"}, Output: []string{"m"}}},
		Output: []*onnxpb.ValueInfoProto{{Name: proto.String("m")}}}
	b.g.Node = append(b.g.Node, &onnxpb.NodeProto{OpType: proto.String("Loop"), Name: proto.String("loop"), Input: []string{"", ""}, Output: []string{"l"},
		Attribute: []*onnxpb.AttributeProto{{Name: proto.String("body"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: body}}})
	b.g.Output = append(b.g.Output, &onnxpb.ValueInfoProto{Name: proto.String("l")})
	m, err := SelectBranch(b.model(), "If_0.then_branch")
	if err != nil {
		t.Fatal(err)
	}
	g := m.Proto.GetGraph()
	var ops []string
	for _, n := range g.Node {
		ops = append(ops, n.GetOpType())
	}
	if !reflect.DeepEqual(ops, []string{"QuantizeLinear", "DequantizeLinear", "Relu", "Identity", "Loop"}) {
		t.Errorf("nodes %v", ops)
	}
	if len(g.Initializer) == 0 || !strings.Contains(fmt.Sprint(initNames(g)), "w") {
		t.Errorf("the Loop body's capture w was pruned: %v", initNames(g))
	}
	if _, err := SelectBranch(b.model(), "loop.body"); err == nil || !strings.Contains(err.Error(), "Loop body cannot be chosen") {
		t.Errorf("loop body: %v", err)
	}
}

func initNames(g *onnxpb.GraphProto) []string {
	var out []string
	for _, t := range g.Initializer {
		out = append(out, t.GetName())
	}
	return out
}
