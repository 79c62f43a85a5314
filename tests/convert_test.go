package tests

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/internal/testoracle"
	"github.com/onnxquant/onnxquant/onnxio"
)

// `convert --opset 13` and `--opset 21` of every corpus model keep the
// outputs within 1e-5 relative L2 of the original's, in the interpreter and
// in ONNX Runtime when the test has it.
func TestConvertOpsetKeepsOnnxRuntimeOutputs(t *testing.T) {
	corpus := testenv.Corpus(t)
	for model, sets := range corpusModels() {
		src := filepath.Join(corpus, "models", model+".onnx")
		m, err := onnxio.Load(src)
		if err != nil {
			t.Fatal(err)
		}
		single := m.Proto.Graph.Input[0].GetName()
		for _, opset := range []int{13, 21} {
			t.Run(fmt.Sprintf("%s/opset%d", model, opset), func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "converted.onnx")
				if r := onnxquant(t, "convert", src, "-o", out, "--opset", fmt.Sprint(opset)); r.code != 0 {
					t.Fatalf("convert: exit %d: %s", r.code, r.stderr)
				}
				conv, err := onnxio.Load(out)
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range conv.Proto.OpsetImport {
					if o.GetDomain() == "" && o.GetVersion() != int64(opset) {
						t.Fatalf("converted model imports opset %d", o.GetVersion())
					}
				}
				for _, set := range sets {
					in := testenv.ReadSample(t, testenv.Samples(t, set)[0], single)
					for _, r := range testoracle.Originals(t, m.Proto, in) {
						got := r.Got(t, conv.Proto, in)
						for name, w := range r.Want {
							if e := relL2(w, got[name]); e > 1e-5 {
								t.Errorf("%s: %s output %q: relative L2 %.2g", r.Oracle.Name, set, name, e)
							}
						}
					}
				}
			})
		}
	}
}

// relL2 is ‖got−want‖/‖want‖ over float outputs; other types must match exactly.
func relL2(want, got *tensor.Dense) float64 {
	if got == nil {
		return math.Inf(1)
	}
	w, ok1 := want.Data().([]float32)
	g, ok2 := got.Data().([]float32)
	if !ok1 || !ok2 {
		if fmt.Sprint(want.Data()) == fmt.Sprint(got.Data()) {
			return 0
		}
		return math.Inf(1)
	}
	var num, den float64
	for i := range w {
		d := float64(w[i]) - float64(g[i])
		num += d * d
		den += float64(w[i]) * float64(w[i])
	}
	if den == 0 {
		return math.Sqrt(num)
	}
	return math.Sqrt(num / den)
}
