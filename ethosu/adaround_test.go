package ethosu_test

import (
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/internal/testoracle"
	"github.com/onnxquant/onnxquant/qpass"
	"github.com/onnxquant/onnxquant/quantize"
)

// biasedRoundingMatMul is a MatMul whose 64 weights per output column all
// sit 0.4 of a grid step above a grid point (the largest, 1, sets the step
// to 1/127): nearest rounding lowers every weight the same way, so on
// positive inputs the errors add up over the fan-in, while rounding about
// two in five of them up instead cancels them.
func biasedRoundingMatMul() *testmodel.Builder {
	const k, n = 64, 4
	w := make([]float32, k*n)
	for i := 0; i < k; i++ {
		for o := 0; o < n; o++ {
			if i == o {
				w[i*n+o] = 1
				continue
			}
			w[i*n+o] = (float32((7*i+13*o)%90) + 0.4) / 127
		}
	}
	return testmodel.New(13).Input("x", 1, 32, k).Output("y", 1, 32, n).
		Init("w", []int64{k, n}, w...).
		NamedNode("mm", "MatMul", []string{"x", "w"}, []string{"y"})
}

// TestAdaRoundCancelsRoundingErrors quantizes biasedRoundingMatMul at
// a16w8 (so that weights, not activations, limit it) with and without
// --adaround: choosing the rounding by the layer's output error must gain
// at least 10 dB SQNR on an input calibration never saw (6 dB on the
// depthwise Conv, whose channels have only 9 weights to trade).
func TestAdaRoundCancelsRoundingErrors(t *testing.T) {
	for _, o := range testoracle.All(t) {
		t.Run(o.Name, func(t *testing.T) {
			for _, c := range []struct {
				name  string
				b     *testmodel.Builder
				shape []int
				gain  float64
			}{
				{"matmul", biasedRoundingMatMul(), []int{1, 32, 64}, 10},
				// The depthwise Conv of the bias-correction test: 9 weights a
				// channel, patches with padding-free borders.
				{"depthwise conv", biasedRoundingConv(), []int{1, 4, 6, 6}, 6},
			} {
				t.Run(c.name, func(t *testing.T) { adaRoundGains(t, o, c.b, c.shape, c.gain) })
			}
		})
	}
}

func adaRoundGains(t *testing.T, o testoracle.Oracle, b *testmodel.Builder, shape []int, gain float64) {
	size := 1
	for _, d := range shape {
		size *= d
	}
	samples := writeSamples(t, b, 8, [2]float32{0.5, 1.5})
	in := map[string]*tensor.Dense{"x": tensor.New(tensor.WithShape(shape...), tensor.WithBacking(testmodel.Ramp(4242, size, 0.5, 1.5)))}
	ref := runOracle(t, o, b.Model(), []map[string]*tensor.Dense{in})
	quantized := func(adaround bool) float64 {
		q := ethosu.NewEthosUQuantizer(ethosu.MustCompileSpec("ethos-u85-256"))
		q.SetGlobal(qpass.SymmetricA16W8(true, false))
		q.Accuracy = quantize.Accuracy{Observer: quantize.ObserverMinMax, AdaRound: adaround}
		res, err := quantizeGraph(t, q, b.Model(), samples)
		if err != nil {
			t.Fatal(err)
		}
		got := runOracle(t, o, res.Model, []map[string]*tensor.Dense{in})
		return sqnr(ref[0], got[0])
	}
	without, with := quantized(false), quantized(true)
	t.Logf("SQNR %.1f dB with nearest rounding, %.1f dB with adaround", without, with)
	if with < without+gain {
		t.Errorf("adaround gained %.1f dB (%.1f -> %.1f), want at least %.0f", with-without, without, with, gain)
	}
}
