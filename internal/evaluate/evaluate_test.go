package evaluate_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/internal/evaluate"
	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

func model(t *testing.T, g *onnxpb.GraphProto) *lower.GraphModule {
	t.Helper()
	m := &onnxpb.ModelProto{IrVersion: proto.Int64(8), Graph: g,
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}}}
	gm, err := lower.Lower(m, "")
	if err != nil {
		t.Fatal(err)
	}
	return gm
}

// floatRelu is y = Relu(x) with x of shape [1, 4], the node in module "act".
func floatRelu(t *testing.T) *lower.GraphModule {
	return model(t, &onnxpb.GraphProto{Name: proto.String("f"),
		Input:  []*onnxpb.ValueInfoProto{testmodel.ValueInfo("x", onnxpb.TensorProto_FLOAT, []int64{1, 4})},
		Output: []*onnxpb.ValueInfoProto{testmodel.ValueInfo("y", onnxpb.TensorProto_FLOAT, []int64{1, 4})},
		Node:   []*onnxpb.NodeProto{testmodel.NamedNode("/act/Relu", "Relu", []string{"x"}, []string{"y"})},
	})
}

// quantRelu is the QDQ form of floatRelu with scale 1 and zero point 0
// (int8) on x and y, named as the converter names them.
func quantRelu(t *testing.T) *lower.GraphModule {
	scalar := func(name string, dt onnxpb.TensorProto_DataType, raw []byte) *onnxpb.TensorProto {
		return &onnxpb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(dt)), RawData: raw}
	}
	one := []byte{0, 0, 0x80, 0x3f} // float32 1.0, little endian
	return model(t, &onnxpb.GraphProto{Name: proto.String("q"),
		Input:  []*onnxpb.ValueInfoProto{testmodel.ValueInfo("x", onnxpb.TensorProto_FLOAT, []int64{1, 4})},
		Output: []*onnxpb.ValueInfoProto{testmodel.ValueInfo("y", onnxpb.TensorProto_FLOAT, []int64{1, 4})},
		Initializer: []*onnxpb.TensorProto{
			scalar("s", onnxpb.TensorProto_FLOAT, one), scalar("zp", onnxpb.TensorProto_INT8, []byte{0}),
		},
		Node: []*onnxpb.NodeProto{
			testmodel.NamedNode("x_q", "QuantizeLinear", []string{"x", "s", "zp"}, []string{"x_quantized"}),
			testmodel.NamedNode("x_dq", "DequantizeLinear", []string{"x_quantized", "s", "zp"}, []string{"x_dequantized"}),
			testmodel.NamedNode("/act/Relu", "Relu", []string{"x_dequantized"}, []string{"y_float"}),
			testmodel.NamedNode("y_q", "QuantizeLinear", []string{"y_float", "s", "zp"}, []string{"y_quantized"}),
			testmodel.NamedNode("y_dq", "DequantizeLinear", []string{"y_quantized", "s", "zp"}, []string{"y"}),
		},
	})
}

func samples(t *testing.T, rows ...[]float32) *dataset.Set {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for i, r := range rows {
		p := filepath.Join(dir, string(rune('a'+i))+".npy")
		if err := dataset.WriteNPY(p, tensor.New(tensor.WithShape(1, len(r)), tensor.WithBacking(r))); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	set, err := dataset.Open(paths, []dataset.InputSpec{{Name: "x", DType: tensor.Float32, Shape: []int{1, 4}}})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-4 {
		t.Errorf("%s = %.6f, want %.6f", what, got, want)
	}
}

func TestEvaluateMeasuresRoundingOfEachQuantizedTensor(t *testing.T) {
	// x = [0.4, 1.6, -2.2, 3.0] rounds to [0, 2, -2, 3] at scale 1:
	// errors 0.4, 0.4, 0.2, 0 → noise 0.36, signal 16.56.
	// y = Relu(x) = [0.4, 1.6, 0, 3] against [0, 2, 0, 3]: noise 0.32, signal 11.72.
	set := samples(t, []float32{0.4, 1.6, -2.2, 3.0})
	rep, err := evaluate.Evaluate(context.Background(), floatRelu(t), quantRelu(t), set, evaluate.Options{HintBelow: 100})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Samples != 1 || len(rep.Outputs) != 1 || len(rep.Layers) != 2 {
		t.Fatalf("report %+v", rep)
	}
	out := rep.Outputs[0]
	near(t, "output SQNR", float64(out.SQNR), 10*math.Log10(11.72/0.32))
	near(t, "output max abs error", out.MaxAbsError, 0.4)
	if out.ArgmaxAgreement == nil || *out.ArgmaxAgreement != 1 {
		t.Errorf("argmax agreement %v, want 1 (both pick index 3)", out.ArgmaxAgreement)
	}
	if out.ThresholdAgreement != nil {
		t.Errorf("threshold agreement %v for an output outside [0, 1]", *out.ThresholdAgreement)
	}
	// Worst first: y (15.6 dB), then x (16.6 dB).
	if rep.Layers[0].Name != "y" || rep.Layers[1].Name != "x" {
		t.Fatalf("layers %+v, want y then x", rep.Layers)
	}
	near(t, "x SQNR", float64(rep.Layers[1].SQNR), 10*math.Log10(16.56/0.36))
	if rep.Layers[0].Module != "act" || rep.Layers[0].Bits != 8 {
		t.Errorf("layer y: module %q bits %d, want act, 8", rep.Layers[0].Module, rep.Layers[0].Bits)
	}
	if len(rep.Hints) != 1 || rep.Hints[0].Module != "act" || rep.Hints[0].Scheme != "a16w8" || rep.Hints[0].Config != "module_name: {act: a16w8}" {
		t.Errorf("hints %+v, want act → a16w8", rep.Hints)
	}
	// y's local error is that of rounding the exact float y,
	// [0.4, 1.6, 0, 3], on its own grid: here the same as the accumulated.
	if l := rep.Layers[0].LocalSQNR; l == nil {
		t.Errorf("layer y has no local SQNR")
	} else {
		near(t, "y local SQNR", float64(*l), 10*math.Log10(11.72/0.32))
	}
}

// TestEvaluateReportsRangeOverflow feeds x beyond its grid's range and
// checks the share of values outside the calibrated range and how far
// beyond it they went.
func TestEvaluateReportsRangeOverflow(t *testing.T) {
	// At scale 1, int8: x = [100, 200, 300, 1] saturates to 127 twice.
	set := samples(t, []float32{100, 200, 300, 1})
	rep, err := evaluate.Evaluate(context.Background(), floatRelu(t), quantRelu(t), set, evaluate.Options{HintBelow: 100})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]evaluate.Layer{}
	for _, l := range rep.Layers {
		byName[l.Name] = l
	}
	x, y := byName["x"], byName["y"]
	if x.LocalSQNR == nil || y.LocalSQNR == nil {
		t.Fatalf("layers %+v lack local SQNR", rep.Layers)
	}
	if x.OutOfRange != 0.5 {
		t.Errorf("x out of range %v, want 0.5 (200 and 300 beyond 127.5)", x.OutOfRange)
	}
	near(t, "x range excess", x.RangeExcess, (300-127.0)/255)
}

func TestEvaluateSumsOverSamplesAndAgreesOnThresholds(t *testing.T) {
	// Two probability-like samples: [0.4, 0.6, 0.2, 0.9] → [0, 1, 0, 1]
	// and [1, 0, 0, 0] exactly. Signal 0.16+0.36+0.04+0.81+1 = 2.37,
	// noise 0.16+0.16+0.04+0.01 = 0.37. Every element keeps its side of
	// 0.5. Argmax: index 3 against 1 (the first of the tied ones) for the
	// first sample, 0 against 0 for the second: half agree.
	set := samples(t, []float32{0.4, 0.6, 0.2, 0.9}, []float32{1, 0, 0, 0})
	for _, workers := range []int{1, 2} {
		rep, err := evaluate.Evaluate(context.Background(), floatRelu(t), quantRelu(t), set, evaluate.Options{Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		out := rep.Outputs[0]
		near(t, "SQNR", float64(out.SQNR), 10*math.Log10(2.37/0.37))
		if out.ThresholdAgreement == nil || *out.ThresholdAgreement != 1 {
			t.Errorf("threshold agreement %v, want 1", out.ThresholdAgreement)
		}
		if out.ArgmaxAgreement == nil || *out.ArgmaxAgreement != 0.5 {
			t.Errorf("argmax agreement %v, want 0.5", out.ArgmaxAgreement)
		}
		if rep.Layers[0].Count != 2 {
			t.Errorf("count %d, want 2 samples", rep.Layers[0].Count)
		}
	}
}

func TestEvaluateReportIsJSONEvenWithInfiniteSQNR(t *testing.T) {
	set := samples(t, []float32{1, 2, 0, 3})
	rep, err := evaluate.Evaluate(context.Background(), floatRelu(t), quantRelu(t), set, evaluate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsInf(float64(rep.Outputs[0].SQNR), 1) {
		t.Fatalf("SQNR %v for exactly representable values, want +Inf", rep.Outputs[0].SQNR)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"sqnr_db":null,"sqnr_infinite":true`) {
		t.Errorf("infinite SQNR written as %s, want null with sqnr_infinite", b)
	}
	var back evaluate.Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !math.IsInf(float64(back.Outputs[0].SQNR), 1) {
		t.Errorf("round trip of %s lost +Inf", b)
	}
}

func TestEvaluateStopsOnCancelledContext(t *testing.T) {
	set := samples(t, []float32{1, 2, 0, 3}, []float32{1, 2, 0, 3})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := evaluate.Evaluate(ctx, floatRelu(t), quantRelu(t), set, evaluate.Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}

// TestEvaluateGivesStatesNoArgmax evaluates a model returning y = Relu(x)
// and a state s = Relu(h) of h's shape, as recurrent models hand their
// state back: the state gets no argmax agreement, the first output does.
func TestEvaluateGivesStatesNoArgmax(t *testing.T) {
	two := func(name string, relu func(in, out string) *onnxpb.NodeProto) *lower.GraphModule {
		return model(t, &onnxpb.GraphProto{Name: proto.String(name),
			Input: []*onnxpb.ValueInfoProto{testmodel.ValueInfo("x", onnxpb.TensorProto_FLOAT, []int64{1, 4}),
				testmodel.ValueInfo("h", onnxpb.TensorProto_FLOAT, []int64{1, 3})},
			Output: []*onnxpb.ValueInfoProto{testmodel.ValueInfo("y", onnxpb.TensorProto_FLOAT, []int64{1, 4}),
				testmodel.ValueInfo("s", onnxpb.TensorProto_FLOAT, []int64{1, 3})},
			Node: []*onnxpb.NodeProto{relu("x", "y"), relu("h", "s")},
		})
	}
	relu := func(in, out string) *onnxpb.NodeProto {
		return testmodel.NamedNode("/"+out+"/Relu", "Relu", []string{in}, []string{out})
	}
	dir := t.TempDir()
	for _, in := range []struct {
		name string
		data []float32
	}{{"x", []float32{1, 2, 3, 4}}, {"h", []float32{0.5, 0.2, 0.1}}} {
		if err := dataset.WriteNPY(filepath.Join(dir, in.name+".npy"), tensor.New(tensor.WithShape(1, len(in.data)), tensor.WithBacking(in.data))); err != nil {
			t.Fatal(err)
		}
	}
	set, err := dataset.Open([]string{dir}, []dataset.InputSpec{{Name: "x", DType: tensor.Float32, Shape: []int{1, 4}}, {Name: "h", DType: tensor.Float32, Shape: []int{1, 3}}})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := evaluate.Evaluate(context.Background(), two("f", relu), two("q", relu), set, evaluate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Outputs[0].ArgmaxAgreement == nil || rep.Outputs[1].ArgmaxAgreement != nil {
		t.Errorf("argmax agreement of y %v and of the state s %v, want y's only", rep.Outputs[0].ArgmaxAgreement, rep.Outputs[1].ArgmaxAgreement)
	}
}

// TestSensitivityLeavesTheHintedTensorFloat evaluates x → Neg → a, a on a
// coarse grid (step 1/2), then Relu → y on a fine one (step 1/64): a's
// grid is the cause and y keeps its error. With Sensitivity the hint on a
// carries the worst output's gain when a alone is left float, after which
// y only carries its own fine rounding.
func TestSensitivityLeavesTheHintedTensorFloat(t *testing.T) {
	dir := t.TempDir()
	floatPath := testmodel.New(13).Input("x", 1, 4).Output("y", 1, 4).
		NamedNode("/neg/Neg", "Neg", []string{"x"}, []string{"a"}).
		NamedNode("/act/Relu", "Relu", []string{"a"}, []string{"y"}).Save(t, dir, "f.onnx")
	b := testmodel.New(13).Input("x", 1, 4).Output("y", 1, 4).
		Init("coarse", nil, 0.5).Init("fine", nil, 1.0/64)
	b.Graph().Initializer = append(b.Graph().Initializer,
		&onnxpb.TensorProto{Name: proto.String("zp"), DataType: proto.Int32(int32(onnxpb.TensorProto_INT8)), RawData: []byte{0}})
	b.NamedNode("/neg/Neg", "Neg", []string{"x"}, []string{"a"}).
		NamedNode("a_q", "QuantizeLinear", []string{"a", "coarse", "zp"}, []string{"a_quantized"}).
		NamedNode("a_dq", "DequantizeLinear", []string{"a_quantized", "coarse", "zp"}, []string{"a_dequantized"}).
		NamedNode("/act/Relu", "Relu", []string{"a_dequantized"}, []string{"y_float"}).
		NamedNode("y_q", "QuantizeLinear", []string{"y_float", "fine", "zp"}, []string{"y_quantized"}).
		NamedNode("y_dq", "DequantizeLinear", []string{"y_quantized", "fine", "zp"}, []string{"y"})
	quantPath := b.Save(t, dir, "q.onnx")
	data := filepath.Join(dir, "x.npy")
	x := []float32{-0.3, -1.2, -0.7, -1.6}
	if err := dataset.WriteNPY(data, tensor.New(tensor.WithShape(1, 4), tensor.WithBacking(x))); err != nil {
		t.Fatal(err)
	}
	rep, err := evaluate.EvaluateFiles(context.Background(), floatPath, quantPath, []string{data}, evaluate.Options{HintBelow: 100, Sensitivity: true})
	if err != nil {
		t.Fatal(err)
	}
	var hint *evaluate.Hint
	for i := range rep.Hints {
		if rep.Hints[i].Tensor == "a" {
			hint = &rep.Hints[i]
		}
	}
	if hint == nil || hint.FloatGain == nil {
		t.Fatalf("hints %+v: want one on a with a gain", rep.Hints)
	}
	// a = [0.3, 1.2, 0.7, 1.6] rounds to [0.5, 1, 0.5, 1.5] (noise 0.13,
	// signal 4.98); with a float, y's grid of step 1/64 leaves at most
	// 1/128 per value, so the output gains well over 20 dB.
	if *hint.FloatGain < 20 {
		t.Errorf("gain %v, want over 20 dB", *hint.FloatGain)
	}
}
