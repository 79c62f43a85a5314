package tests

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// powerSpectrumModel is the front end of a VAD or keyword model as torch
// writes an STFT magnitude: a cos and a sin DFT basis (MatMuls), their
// squares summed (the power spectrum), Sqrt, a gain of 2^20 plus 1 and a
// Log, then a small network. The squares span twice the decades of the
// spectrum, which spans several on audio whose level varies.
func powerSpectrumModel(t *testing.T, dir string) string {
	b := testmodel.New(13).Input("audio", 1, 64).OutputOfRank("out", onnxpb.TensorProto_FLOAT, 2).
		Init("two", nil, 2).Init("gain", nil, 1<<20).Init("one", nil, 1)
	g := b.Graph()
	g.Initializer = append(g.Initializer,
		matrix("cos", 64, 16, func(i, j int) float32 { return float32(math.Cos(2 * math.Pi * float64(i*j) / 64)) }),
		matrix("sin", 64, 16, func(i, j int) float32 { return float32(-math.Sin(2 * math.Pi * float64(i*j) / 64)) }),
		matrix("w", 16, 4, func(i, j int) float32 { return float32(math.Sin(float64(3*i+j))) * 0.3 }))
	b.NamedNode("real", "MatMul", []string{"audio", "cos"}, []string{"re"}).
		NamedNode("imag", "MatMul", []string{"audio", "sin"}, []string{"im"}).
		NamedNode("re2", "Pow", []string{"re", "two"}, []string{"re_sq"}).
		NamedNode("im2", "Pow", []string{"im", "two"}, []string{"im_sq"}).
		NamedNode("power", "Add", []string{"re_sq", "im_sq"}, []string{"pw"}).
		NamedNode("magnitude", "Sqrt", []string{"pw"}, []string{"mag"}).
		NamedNode("gain", "Mul", []string{"mag", "gain"}, []string{"scaled"}).
		NamedNode("floor", "Add", []string{"scaled", "one"}, []string{"guarded"}).
		NamedNode("log", "Log", []string{"guarded"}, []string{"spect"}).
		NamedNode("fc", "MatMul", []string{"spect", "w"}, []string{"out"})
	return b.Save(t, dir, "powerspectrum.onnx")
}

// TestPowerSpectrumAt16BitsIsRefusedNamingTheSquares: the class behind
// Silero's 6 dB at a16w8 on U85. Quantizing the summed squares on any
// linear grid, 16 bits included, zeroes the quiet bins, and the Sqrt and
// Log magnify that; 16 bits being the widest Ethos-U activation, the
// refusal names the sum of squares and does not propose a16w8, which is
// in use. The network after the Log quantizes once the spectrum is the
// host's (--cut-from spect --calib-full).
func TestPowerSpectrumAt16BitsIsRefusedNamingTheSquares(t *testing.T) {
	dir := t.TempDir()
	model := powerSpectrumModel(t, dir)
	// Tones at levels over four decades, over a little noise.
	calib := writeSamples(t, 12, []int{1, 64}, func(i, j int) float32 {
		level := math.Pow(10, float64(i%5)-2)
		return float32(level*math.Sin(float64(j)*(0.3+0.2*float64(i%3))) + 1e-3*math.Cos(float64(j*j+7*i)))
	})
	out := filepath.Join(dir, "q.onnx")
	r := onnxquant(t, "quantize", model, "--calib", calib, "-o", out, "-q", "--target", "ethos-u85-256", "--scheme", "a16w8")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"cannot serve", `"pw" (Add)`, "a sum of squares", "16-bit activations are in use already", "--cut-from"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("message lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "--scheme a16w8") {
		t.Errorf("a16w8 is in use; the message must not propose it:\n%s", r.stderr)
	}
	mustNotExist(t, out)

	cut := filepath.Join(dir, "cut.onnx")
	if r := onnxquant(t, "quantize", model, "--calib", calib, "-o", cut, "-q", "--target", "ethos-u85-256", "--scheme", "a16w8",
		"--cut-from", "spect", "--calib-full"); r.code != 0 {
		t.Fatalf("cut: exit %d: %s", r.code, r.stderr)
	}
	if r := onnxquant(t, "check", cut); r.code != 0 {
		t.Fatalf("check of the cut: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
}
