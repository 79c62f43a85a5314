package ethosu_test

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

func quantizeTinynet(t *testing.T, m *onnxpb.ModelProto, calibDir string, qat bool) *onnxpb.ModelProto {
	t.Helper()
	gm, err := lower.Lower(proto.Clone(m).(*onnxpb.ModelProto), "../models")
	if err != nil {
		t.Fatal(err)
	}
	set, err := dataset.Open([]string{calibDir}, dataset.InputSpecs(gm))
	if err != nil {
		t.Fatal(err)
	}
	res, err := ethosu.NewEthosUQuantizer(ethosu.MustCompileSpec("ethos-u55-128")).QuantizeWithSubmodules(context.Background(), gm, set, qat)
	if err != nil {
		t.Fatal(err)
	}
	return res.Model
}

// scaleInitializers reads every *_scale initializer of a QDQ model.
func scaleInitializers(t *testing.T, m *onnxpb.ModelProto) map[string][]float32 {
	t.Helper()
	out := map[string][]float32{}
	for _, in := range m.Graph.Initializer {
		if strings.HasSuffix(in.GetName(), "_scale") {
			v, err := onnxio.Float32s(in, "")
			if err != nil {
				t.Fatal(err)
			}
			out[in.GetName()] = v
		}
	}
	return out
}

// A model that already carries Q/DQ pairs (as a QAT export does) keeps
// their ranges with --qat, even when the calibration data would give other
// ranges: here the samples are three times larger.
func TestQATKeepsTrainedRanges(t *testing.T) {
	m, err := onnxio.Load("../models/tinynet.onnx")
	if err != nil {
		t.Fatal(err)
	}
	trained := quantizeTinynet(t, m.Proto, "../models/tinynet_calib", false)

	loud := t.TempDir()
	for i := 0; i < 4; i++ {
		x, err := dataset.ReadNPY(filepath.Join("../models/tinynet_calib", fmt.Sprintf("sample_%03d.npy", i)))
		if err != nil {
			t.Fatal(err)
		}
		data := x.Data().([]float32)
		louder := make([]float32, len(data))
		for j, v := range data {
			louder[j] = 3 * v
		}
		if err := dataset.WriteNPY(filepath.Join(loud, fmt.Sprintf("sample_%03d.npy", i)), tensor.New(tensor.WithShape(x.Shape()...), tensor.WithBacking(louder))); err != nil {
			t.Fatal(err)
		}
	}
	requantized := quantizeTinynet(t, trained, loud, true)
	want, got := scaleInitializers(t, trained), scaleInitializers(t, requantized)
	if len(want) == 0 {
		t.Fatal("the first quantization has no scales")
	}
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			// Absorbed weights are renamed *_float: look their scales up by prefix.
			for gn, gv := range got {
				if strings.HasPrefix(gn, strings.TrimSuffix(name, "_scale")) {
					g, ok = gv, true
					break
				}
			}
		}
		if !ok || len(g) != len(w) {
			t.Errorf("scale %s: got %v, want %v", name, g, w)
			continue
		}
		for i := range w {
			if math.Abs(float64(g[i]-w[i])) > 1e-6*math.Abs(float64(w[i])) {
				t.Errorf("scale %s[%d] = %g, want the trained %g", name, i, g[i], w[i])
				break
			}
		}
	}
	// Without --qat the louder data gives larger activation scales.
	plain := scaleInitializers(t, quantizeTinynet(t, m.Proto, loud, false))
	if s := plain["input_scale"]; len(s) != 1 || s[0] <= want["input_scale"][0]*2 {
		t.Errorf("without --qat the input scale is %v, want about 3x %v", s, want["input_scale"])
	}
}

// Trained qparams that break the target's rules are an error naming the
// tensor: a uint8 activation inside the model is not what int8 needs.
func TestQATRejectsTrainedQParamsOfTheWrongType(t *testing.T) {
	m, err := onnxio.Load("../models/tinynet.onnx")
	if err != nil {
		t.Fatal(err)
	}
	trained := quantizeTinynet(t, m.Proto, "../models/tinynet_calib", false)
	for _, in := range trained.Graph.Initializer {
		if in.GetName() == "/features/pool/MaxPool_output_0_zero_point" {
			in.DataType = proto.Int32(int32(onnxpb.TensorProto_UINT8))
			in.RawData = []byte{128}
		}
	}
	gm, err := lower.Lower(trained, "../models")
	if err != nil {
		t.Fatal(err)
	}
	set, err := dataset.Open([]string{"../models/tinynet_calib"}, dataset.InputSpecs(gm))
	if err != nil {
		t.Fatal(err)
	}
	_, err = ethosu.NewEthosUQuantizer(ethosu.MustCompileSpec("ethos-u55-128")).QuantizeWithSubmodules(context.Background(), gm, set, true)
	if err == nil || !strings.Contains(err.Error(), "/features/pool/MaxPool_output_0") || !strings.Contains(err.Error(), "UINT8") {
		t.Fatalf("err = %v, want one naming the MaxPool output and its uint8 type", err)
	}
}
