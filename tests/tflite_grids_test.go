package tests

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
	"github.com/onnxquant/onnxquant/tflite"
)

// sigmoidGridsModel has two Sigmoids of the same input: "s" alone, and
// "s2" concatenated with the input itself, so that its qparams are shared
// with a tensor whose range is not the Sigmoid's; and a Tanh, "th".
func sigmoidGridsModel(t *testing.T, dir string) (model, calib string) {
	b := newGraph("grids").input("x", 1, 256)
	b.node("Sigmoid", "sig", []string{"x"}, []string{"s"})
	b.node("Sigmoid", "sig2", []string{"x"}, []string{"s2"})
	b.NamedNode("cat", "Concat", []string{"s2", "x"}, []string{"c"}, intAttr("axis", 1))
	b.node("Tanh", "tanh", []string{"x"}, []string{"th"})
	b.output("s", onnxpb.TensorProto_FLOAT, 2).output("c", onnxpb.TensorProto_FLOAT, 2).output("th", onnxpb.TensorProto_FLOAT, 2)
	model = b.save(t, dir, "float.onnx")
	calib = writeSamples(t, 4, []int{1, 256}, func(i, j int) float32 {
		return float32(6 * math.Sin(float64(i*256+j)*12.9898))
	})
	return model, calib
}

// --tflite-grids puts a Sigmoid's output on TFLite's fixed LOGISTIC grid
// (int8: 1/256, zero point -128; int16: 1/32768, zero point 0), so the
// export writes LOGISTIC with no QUANTIZE after it and LiteRT rounds once,
// as ONNX Runtime does: every element agrees. Without it the observed
// range (1/255 here) needs a QUANTIZE after LOGISTIC, and the two
// roundings leave elements one step off. A Sigmoid whose qparams are
// shared with another tensor (a Concat with the input) keeps the observed
// range.
func TestTFLiteGrids(t *testing.T) {
	dir := t.TempDir()
	model, calib := sigmoidGridsModel(t, dir)
	quantizeCount := func(tfl string) int {
		f := readTFLite(t, tfl)
		n := 0
		for _, op := range f.Model.Operators {
			if op.Op == tflite.OpQuantize {
				n++
			}
		}
		return n
	}
	run := func(name string, args ...string) (q, tfl, ff string) {
		q, tfl, ff = filepath.Join(dir, name+".onnx"), filepath.Join(dir, name+".tflite"), filepath.Join(dir, name+"_f.tflite")
		if r := onnxquant(t, append([]string{"quantize", model, "--calib", calib, "-o", q, "-q", "--tflite", tfl}, args...)...); r.code != 0 {
			t.Fatalf("quantize %v: exit %d\n%s", args, r.code, r.stderr)
		}
		if r := onnxquant(t, "export", q, "--float-io", "-o", ff); r.code != 0 {
			t.Fatalf("export --float-io: exit %d\n%s", r.code, r.stderr)
		}
		return q, tfl, ff
	}
	// stepsOff counts the elements of an output where LiteRT and ONNX
	// Runtime differ, failing on any difference above one step.
	stepsOff := func(q, ff, output string, step float64) int {
		off := 0
		for _, r := range runLiteRTCompare(t, ff, q, firstSamples(t, calib, 4)).Results {
			o := r.Outputs[output]
			for i := range o.ORT {
				d := math.Abs(o.ORT[i]-o.LiteRT[i]) / step
				if d > 1.0001 {
					t.Fatalf("%s %s[%d]: ONNX Runtime %g, LiteRT %g: %.2f steps apart", r.Sample, output, i, o.ORT[i], o.LiteRT[i], d)
				}
				if d > 0.5 {
					off++
				}
			}
		}
		return off
	}

	q, tfl, ff := run("observed")
	scale, zp, _ := quantizeQParams(t, q, "s")
	if scale == 1.0/256 {
		t.Fatalf("without --tflite-grids the Sigmoid's output scale is already 1/256: the test does not cover the option")
	}
	if n := quantizeCount(tfl); n != 3 {
		t.Errorf("without --tflite-grids: %d QUANTIZE operators, want 3 (one after each LOGISTIC and the TANH)", n)
	}
	// export points at the option where it would spare operators.
	if r := onnxquant(t, "export", q, "-o", filepath.Join(dir, "observed_again.tflite")); r.code != 0 ||
		!strings.Contains(r.stderr, "note: 3 LOGISTIC/TANH output(s) need a QUANTIZE") || !strings.Contains(r.stderr, "--tflite-grids") {
		t.Errorf("export without --tflite-grids: exit %d, want a note naming the 3 requantized LOGISTICs and TANH and the option:\n%s", r.code, r.stderr)
	}
	if off := stepsOff(q, ff, "s", float64(scale)); off == 0 {
		t.Errorf("without --tflite-grids no element of s is one step off: the double rounding this option removes is not there")
	} else {
		t.Logf("observed grid (scale %g, zero point %d): %d elements of s one step off", scale, zp, off)
	}

	q, tfl, ff = run("grids", "--tflite-grids")
	scale, zp, dt := quantizeQParams(t, q, "s")
	if scale != 1.0/256 || zp != -128 || dt != onnxpb.TensorProto_INT8 {
		t.Errorf("s: scale %g, zero point %d, %v; want 1/256, -128, INT8", scale, zp, dt)
	}
	if s2, _, _ := quantizeQParams(t, q, "s2"); s2 == 1.0/256 {
		t.Errorf("s2 shares its qparams with the input through the Concat, yet got the fixed grid")
	}
	if n := quantizeCount(tfl); n != 1 {
		t.Errorf("with --tflite-grids: %d QUANTIZE operators, want 1 (after the shared Sigmoid only)", n)
	}
	// The Sigmoid sharing the Concat's grid keeps its QUANTIZE, and the
	// option was used: no note.
	if r := onnxquant(t, "export", q, "-o", filepath.Join(dir, "grids_again.tflite")); r.code != 0 || strings.Contains(r.stderr, "note:") {
		t.Errorf("export after --tflite-grids: exit %d, want no note:\n%s", r.code, r.stderr)
	}
	if off := stepsOff(q, ff, "s", float64(scale)); off != 0 {
		t.Errorf("with --tflite-grids %d elements of s differ between LiteRT and ONNX Runtime, want none", off)
	}
	scale, zp, dt = quantizeQParams(t, q, "th")
	if scale != 1.0/128 || zp != 0 || dt != onnxpb.TensorProto_INT8 {
		t.Errorf("th: scale %g, zero point %d, %v; want 1/128, 0, INT8", scale, zp, dt)
	}
	if off := stepsOff(q, ff, "th", float64(scale)); off != 0 {
		t.Errorf("with --tflite-grids %d elements of th differ between LiteRT and ONNX Runtime, want none", off)
	}
	m, err := onnxio.Load(q)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range m.Proto.GetMetadataProps() {
		if e.GetKey() == "onnxquant.stages" && !strings.Contains(e.GetValue(), "tflite-grids") {
			t.Errorf("provenance stages %q do not record tflite-grids", e.GetValue())
		}
	}

	// A batch manifest entry sets it per model.
	manifest := filepath.Join(dir, "manifest.yaml")
	text := "models:\n  - {model: float.onnx, calib: " + calib + ", output: batch.onnx, tflite_grids: true}\n"
	if err := os.WriteFile(manifest, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := onnxquant(t, "batch", manifest); r.code != 0 {
		t.Fatalf("batch: exit %d\n%s", r.code, r.stderr)
	}
	if scale, zp, _ := quantizeQParams(t, filepath.Join(dir, "batch.onnx"), "s"); scale != 1.0/256 || zp != -128 {
		t.Errorf("batch tflite_grids: s scale %g, zero point %d; want 1/256, -128", scale, zp)
	}

	q16 := filepath.Join(dir, "a16w8.onnx")
	if r := onnxquant(t, "quantize", model, "--calib", calib, "-o", q16, "-q", "--scheme", "a16w8", "--target", "ethos-u85-256", "--tflite-grids"); r.code != 0 {
		t.Fatalf("quantize a16w8: exit %d\n%s", r.code, r.stderr)
	}
	if scale, zp, dt := quantizeQParams(t, q16, "s"); scale != 1.0/32768 || zp != 0 || dt != onnxpb.TensorProto_INT16 {
		t.Errorf("a16w8 s: scale %g, zero point %d, %v; want 1/32768, 0, INT16", scale, zp, dt)
	}
}
