package evaluate_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/calib/dataset"
	"github.com/onnxquant/onnxquant/calib/evaluate"
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
	if len(rep.Hints) != 1 || rep.Hints[0].Module != "act" || rep.Hints[0].Scheme != "a16w8" {
		t.Errorf("hints %+v, want act → a16w8", rep.Hints)
	}
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
