package tests

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
	"github.com/onnxquant/onnxquant/tflite"
)

// quantizeQParams returns the scale and zero point of the QuantizeLinear
// that quantizes tensor name (a graph input, an op's output) in a QDQ model.
func quantizeQParams(t *testing.T, model, name string) (float32, int64, onnxpb.TensorProto_DataType) {
	t.Helper()
	m, err := onnxio.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	g := m.Proto.GetGraph()
	inits := map[string]*onnxpb.TensorProto{}
	for _, in := range g.GetInitializer() {
		inits[in.GetName()] = in
	}
	// A graph output is the DequantizeLinear's output: follow it back to
	// the QuantizeLinear that feeds it.
	quantized := map[string]bool{name: true}
	for _, n := range g.GetNode() {
		if n.GetOpType() == "DequantizeLinear" && n.Output[0] == name {
			quantized[n.Input[0]] = true
		}
	}
	for _, n := range g.GetNode() {
		if n.GetOpType() != "QuantizeLinear" || !quantized[n.Input[0]] && !quantized[n.Output[0]] {
			continue
		}
		s, err := onnxio.Float32s(inits[n.Input[1]], m.Dir)
		if err != nil {
			t.Fatal(err)
		}
		zp, err := onnxio.Int64s(inits[n.Input[2]], m.Dir)
		if err != nil {
			t.Fatal(err)
		}
		return s[0], zp[0], onnxpb.TensorProto_DataType(inits[n.Input[2]].GetDataType())
	}
	t.Fatalf("%s: no QuantizeLinear of input %q", model, name)
	return 0, 0, 0
}

// `io: uint8` (the README's config example) goes all the way to the NPU:
// quantize writes uint8 graph inputs and outputs, export keeps them as
// UINT8 tensors with the QDQ model's scale and zero point (NHWC for the
// image input), requantized to int8 by a QUANTIZE that Vela runs on the
// NPU, and Vela leaves no operator on the CPU at ethos-u55-128, for the
// example model and a corpus CNN. The float-I/O copy agrees with ONNX
// Runtime on the QDQ model as the int8 exports do.
func TestExportUint8IOThroughVela(t *testing.T) {
	corpus := testenv.Corpus(t)
	velaPath := vela(t)
	for _, tc := range []struct {
		exportCase
		model, calib string
		nhwc         []int32
	}{
		{exportCase{model: "tinynet", scheme: "int8", target: "ethos-u55-128", argmax: true},
			repo("models", "tinynet.onnx"), repo("models", "tinynet_calib"), []int32{1, 32, 32, 3}},
		{exportCase{model: "squeezenet1_1", calib: "imagenet224", scheme: "int8", target: "ethos-u55-128", deep: true, argmax: true},
			filepath.Join(corpus, "models", "squeezenet1_1.onnx"), filepath.Join(corpus, "calib", "imagenet224"), []int32{1, 224, 224, 3}},
	} {
		t.Run(tc.exportCase.model, func(t *testing.T) {
			dir := t.TempDir()
			config := filepath.Join(dir, "io.yaml")
			if err := os.WriteFile(config, []byte("global: int8\nio: uint8\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			q, tfl := filepath.Join(dir, "q.onnx"), filepath.Join(dir, "m.tflite")
			r := onnxquant(t, "quantize", tc.model, "--calib", tc.calib, "--config", config, "--target", tc.target, "-o", q, "-q")
			if r.code != 0 {
				t.Fatalf("quantize: exit %d\n%s", r.code, r.stderr)
			}
			if r := onnxquant(t, "check", q); r.code != 0 || !strings.Contains(r.stdout, "legal for ethos-u55-128") {
				t.Errorf("check: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			if r := onnxquant(t, "export", q, "-o", tfl); r.code != 0 {
				t.Fatalf("export: exit %d\n%s", r.code, r.stderr)
			}
			data, err := os.ReadFile(tfl)
			if err != nil {
				t.Fatal(err)
			}
			f, err := tflite.Read(data)
			if err != nil {
				t.Fatal(err)
			}
			scale, zp, dt := quantizeQParams(t, q, "input")
			if dt != onnxpb.TensorProto_UINT8 {
				t.Fatalf("the QDQ model quantizes its input to %v, want UINT8", dt)
			}
			in := f.Model.Tensors[f.Model.Inputs[0]]
			if in.Type != tflite.Uint8 || !slices.Equal(in.Shape, tc.nhwc) || in.Quant == nil ||
				in.Quant.Scale[0] != scale || in.Quant.ZeroPoint[0] != zp {
				t.Errorf("TFLite input %q: %s %v %+v; want UINT8 %v at the QDQ model's scale %g, zero point %d",
					in.Name, in.Type, in.Shape, in.Quant, tc.nhwc, scale, zp)
			}
			for _, o := range f.Model.Outputs {
				if ot := f.Model.Tensors[o]; ot.Type != tflite.Uint8 {
					t.Errorf("TFLite output %q is %s, want UINT8", ot.Name, ot.Type)
				}
			}
			// The uint8 input is requantized to int8 once, by a QUANTIZE.
			for _, op := range f.Model.Operators {
				if slices.Contains(op.Inputs, f.Model.Inputs[0]) {
					if out := f.Model.Tensors[op.Outputs[0]]; op.Op != tflite.OpQuantize || out.Type != tflite.Int8 {
						t.Errorf("the input is read by %s into %s, want a QUANTIZE to INT8", op.Op, out.Type)
					}
				}
			}
			checkStructure(t, data, tc.scheme)
			out := runVela(t, velaPath, tfl, tc.target)
			if m := cpuOps.FindStringSubmatch(out); m == nil || m[1] != "0" {
				t.Errorf("Vela left operators on the CPU:\n%s", out)
			}
			if testing.Short() {
				return
			}
			ff := filepath.Join(dir, "f.tflite")
			if r := onnxquant(t, "export", q, "--float-io", "-o", ff); r.code != 0 {
				t.Fatalf("export --float-io: exit %d\n%s", r.code, r.stderr)
			}
			compareLiteRT(t, ff, tfl, q, firstSamples(t, tc.calib, 4), tc.exportCase)
		})
	}
}
