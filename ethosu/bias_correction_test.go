package ethosu_test

import (
	"math"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/internal/testoracle"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/quantize"
)

// biasedRoundingConv is a depthwise 3x3 Conv whose weights all sit 0.4 of
// a grid step above a grid point (the largest weight, 1, sets the step to
// 1/127), so rounding lowers every channel's fan-in by 3.2 steps and, on
// inputs of mean 5, its outputs by about 0.126: a bias no activation range
// can absorb.
func biasedRoundingConv() *testmodel.Builder {
	const ch = 4
	w := make([]float32, 0, ch*9)
	for c := 0; c < ch; c++ {
		w = append(w, 1)
		for k := 1; k < 9; k++ {
			w = append(w, float32(3*k+c%2)/127+0.4/127)
		}
	}
	return testmodel.New(13).Input("x", 1, ch, 6, 6).Output("y", 1, ch, 4, 4).
		Init("w", []int64{ch, 1, 3, 3}, w...).Init("b", []int64{ch}, 0.1, -0.2, 0.3, 0).
		NamedNode("dw", "Conv", []string{"x", "w", "b"}, []string{"y"}, lower.IntAttr("group", ch))
}

// TestBiasCorrectionRemovesRoundingShift quantizes biasedRoundingConv
// with and without bias correction and compares both with the float model
// on an input calibration never saw: the mean error must fall to under a
// quarter.
func TestBiasCorrectionRemovesRoundingShift(t *testing.T) {
	for _, o := range testoracle.All(t) {
		t.Run(o.Name, func(t *testing.T) {
			b := biasedRoundingConv()
			samples := writeSamples(t, b, 8, [2]float32{4, 6})
			in := map[string]*tensor.Dense{"x": tensor.New(tensor.WithShape(1, 4, 6, 6), tensor.WithBacking(testmodel.Ramp(4242, 144, 4, 6)))}
			ref := runOracle(t, o, b.Model(), []map[string]*tensor.Dense{in})
			meanError := func(correct bool) float64 {
				q := ethosu.NewEthosUQuantizer(ethosu.MustCompileSpec("ethos-u55-128"))
				q.Accuracy = quantize.Accuracy{Observer: quantize.ObserverMinMax, BiasCorrection: correct}
				res, err := quantizeGraph(t, q, b.Model(), samples)
				if err != nil {
					t.Fatal(err)
				}
				got := runOracle(t, o, res.Model, []map[string]*tensor.Dense{in})
				var sum float64
				for i := range ref[0][0] {
					sum += got[0][0][i] - ref[0][0][i]
				}
				return math.Abs(sum / float64(len(ref[0][0])))
			}
			without, with := meanError(false), meanError(true)
			t.Logf("mean output error: %.4f without bias correction, %.4f with", without, with)
			if without < 0.08 {
				t.Fatalf("the model does not show the rounding shift it is built for (mean error %.4f)", without)
			}
			if with > without/4 {
				t.Errorf("bias correction left a mean error of %.4f (%.4f without)", with, without)
			}
		})
	}
}
