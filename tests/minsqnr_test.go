package tests

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

func matrix(name string, rows, cols int, f func(i, j int) float32) *onnxpb.TensorProto {
	data := make([]float32, 0, rows*cols)
	for i := range rows {
		for j := range cols {
			data = append(data, f(i, j))
		}
	}
	return testmodel.Float32s(name, []int64{int64(rows), int64(cols)}, data...)
}

// logFrontEndModel is a small audio model of the kind that cannot serve at
// int8: a power spectrum-like front end (Pow, a filterbank MatMul), a Clip
// at 1e-10 and a Log, then a top-8 floor whose minimum is computed from the
// data (ReduceMax - 8), feeding a two-layer network. The front end's
// values span decades; the network's do not.
func logFrontEndModel(t *testing.T, dir string) string {
	b := testmodel.New(13).Input("audio", 1, 64).OutputOfRank("out", onnxpb.TensorProto_FLOAT, 2).
		Init("two", nil, 2).Init("eps", nil, 1e-10).Init("top", nil, 8).
		Init("b1", []int64{8}, 0.1, -0.2, 0.3, 0, 0.05, -0.1, 0.2, 0.1)
	g := b.Graph()
	g.Initializer = append(g.Initializer,
		matrix("fb", 64, 16, func(i, j int) float32 { return float32(math.Max(0, 1-math.Abs(float64(i)/4-float64(j)))) }),
		matrix("w1", 16, 8, func(i, j int) float32 { return float32(math.Sin(float64(3*i+j))) * 0.3 }),
		matrix("w2", 8, 4, func(i, j int) float32 { return float32(math.Cos(float64(i+5*j))) * 0.5 }))
	b.NamedNode("power", "Pow", []string{"audio", "two"}, []string{"pw"}).
		NamedNode("filterbank", "MatMul", []string{"pw", "fb"}, []string{"mel"}).
		NamedNode("floor_eps", "Clip", []string{"mel", "eps"}, []string{"melc"}).
		NamedNode("log", "Log", []string{"melc"}, []string{"logmel"}).
		NamedNode("peak", "ReduceMax", []string{"logmel"}, []string{"mx"}, lower.IntAttr("keepdims", 0)).
		NamedNode("floor", "Sub", []string{"mx", "top"}, []string{"fl"}).
		NamedNode("top_db", "Clip", []string{"logmel", "fl"}, []string{"features"}).
		NamedNode("fc1", "MatMul", []string{"features", "w1"}, []string{"h"}).
		NamedNode("fc1_bias", "Add", []string{"h", "b1"}, []string{"hb"}).
		NamedNode("relu", "Relu", []string{"hb"}, []string{"r"}).
		NamedNode("fc2", "MatMul", []string{"r", "w2"}, []string{"out"})
	return b.Save(t, dir, "logfrontend.onnx")
}

// TestMinSQNRRefusesAModelThatCannotServeAndACutQuantizes: the default
// floor refuses the log-domain model with the message that names the
// output, the Log and the Clip bound from the data, and the options, and
// writes nothing; --min-sqnr 0 writes it; cutting the front end off (the
// calibration data still the model's own, --calib-full) quantizes what
// remains, which passes the check.
func TestMinSQNRRefusesAModelThatCannotServeAndACutQuantizes(t *testing.T) {
	dir := t.TempDir()
	model := logFrontEndModel(t, dir)
	// Level varies over three decades between samples, as audio does.
	calib := writeSamples(t, 12, []int{1, 64}, func(i, j int) float32 {
		level := math.Pow(10, float64(i%4)) * 3
		return float32(level * math.Sin(float64(j)*0.7+float64(i)) * (1 + 0.5*math.Cos(float64(j*j+i))))
	})
	out := filepath.Join(dir, "q.onnx")
	r := onnxquant(t, "quantize", model, "--calib", calib, "-o", out, "-q")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"cannot serve", `output "out"`, "below --min-sqnr 10 dB", `"logmel" (Log)`,
		"a Clip whose minimum is computed from the data", "decades", "a16w8", "--cut-from", "--min-sqnr 0"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("message lacks %q:\n%s", want, r.stderr)
		}
	}
	mustNotExist(t, out)

	if r := onnxquant(t, "quantize", model, "--calib", calib, "-o", out, "-q", "--min-sqnr", "0"); r.code != 0 {
		t.Fatalf("--min-sqnr 0: exit %d: %s", r.code, r.stderr)
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatalf("--min-sqnr 0 wrote no model: %v", err)
	}

	cut := filepath.Join(dir, "cut.onnx")
	if r := onnxquant(t, "quantize", model, "--calib", calib, "-o", cut, "-q", "--cut-from", "features", "--calib-full"); r.code != 0 {
		t.Fatalf("cut: exit %d: %s", r.code, r.stderr)
	}
	if r := onnxquant(t, "check", cut); r.code != 0 {
		t.Fatalf("check of the cut: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	r = onnxquant(t, "inspect", cut)
	if !strings.Contains(r.stdout, "input      features FLOAT [1,16]") || strings.Contains(r.stdout, "Log=") || strings.Contains(r.stdout, "Pow=") {
		t.Errorf("the cut model should take features as its input and hold no front end:\n%s", r.stdout)
	}

	// convert cuts the same way; a tensor that is not in the graph, or not
	// on a path to the outputs, is an error that names it.
	front := filepath.Join(dir, "front.onnx")
	if r := onnxquant(t, "convert", model, "-o", front, "--cut-to", "features"); r.code != 0 {
		t.Fatalf("convert --cut-to: exit %d: %s", r.code, r.stderr)
	}
	if r := onnxquant(t, "inspect", front); !strings.Contains(r.stdout, "output     features") || strings.Contains(r.stdout, "MatMul=2") {
		t.Errorf("the front end should end at features:\n%s", r.stdout)
	}
	// A comma-separated list names several tensors, as the help says.
	two := filepath.Join(dir, "two.onnx")
	if r := onnxquant(t, "convert", model, "-o", two, "--cut-to", "features,h"); r.code != 0 {
		t.Fatalf("convert --cut-to features,h: exit %d: %s", r.code, r.stderr)
	}
	if r := onnxquant(t, "inspect", two); !strings.Contains(r.stdout, "output     features") || !strings.Contains(r.stdout, "output     h") {
		t.Errorf("--cut-to features,h should make both outputs:\n%s", r.stdout)
	}
	for _, c := range []struct{ flag, tensor, want string }{
		{"--cut-from", "nosuch", `the main graph has no tensor "nosuch"`},
		{"--cut-from", "w1", `"w1" is an initializer`},
	} {
		r := onnxquant(t, "convert", model, "-o", filepath.Join(dir, "bad.onnx"), c.flag, c.tensor)
		if r.code != 1 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s %s: exit %d, stderr %q, want %q", c.flag, c.tensor, r.code, r.stderr, c.want)
		}
		mustNotExist(t, filepath.Join(dir, "bad.onnx"))
	}
	if r := onnxquant(t, "quantize", model, "--calib", calib, "-o", filepath.Join(dir, "bad.onnx"), "--calib-full"); r.code != 2 {
		t.Errorf("--calib-full without --cut-from: exit %d, want 2", r.code)
	}
}
