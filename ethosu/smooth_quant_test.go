package ethosu_test

import (
	"context"
	"math"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/internal/testoracle"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/quantize"
)

// outlierLayerNormMatMul is LayerNormalization → MatMul where the layer
// norm's scale makes channel 3 sixty times larger than the others while
// the MatMul weighs it sixty times less: every channel matters equally at
// the output, but one per-tensor grid sized by channel 3 leaves the others
// a few levels.
func outlierLayerNormMatMul() *testmodel.Builder {
	const k, n = 8, 6
	gamma := make([]float32, k)
	beta := make([]float32, k)
	for j := range gamma {
		gamma[j] = 1 + 0.1*float32(j)
		beta[j] = 0.05 * float32(j%3)
	}
	gamma[3] = 60
	w := testmodel.Ramp(9, k*n, -1, 1)
	for c := 0; c < n; c++ {
		w[3*n+c] /= 60
	}
	return testmodel.New(17).Input("x", 1, 16, k).Output("y", 1, 16, n).
		Init("gamma", []int64{k}, gamma...).Init("beta", []int64{k}, beta...).Init("w", []int64{k, n}, w...).
		NamedNode("ln", "LayerNormalization", []string{"x", "gamma", "beta"}, []string{"h"}, lower.IntAttr("axis", -1)).
		NamedNode("mm", "MatMul", []string{"h", "w"}, []string{"y"})
}

// outlierMulAddGemm is Mul → Add (constants, channel 5 the outlier) read
// by a Gemm (transB) and a MatMul: the smoothing folds into both
// constants and rescales both weights.
func outlierMulAddGemm() *testmodel.Builder {
	const k, n = 8, 4
	c := make([]float32, k)
	for j := range c {
		c[j] = 0.5 + 0.1*float32(j)
	}
	c[5] = 40
	return testmodel.New(13).Input("x", 16, k).Output("y", 16, n).Output("z", 16, n).
		Init("c", []int64{k}, c...).Init("d", []int64{1}, 0.25).
		Init("wg", []int64{n, k}, testmodel.Ramp(3, n*k, -1, 1)...).Init("bg", []int64{n}, 0.1, 0.2, 0.3, 0.4).
		Init("wm", []int64{k, n}, testmodel.Ramp(4, k*n, -1, 1)...).
		NamedNode("mul", "Mul", []string{"x", "c"}, []string{"m"}).
		NamedNode("add", "Add", []string{"m", "d"}, []string{"h"}).
		NamedNode("gemm", "Gemm", []string{"h", "wg", "bg"}, []string{"y"}, lower.IntAttr("transB", 1)).
		NamedNode("mm", "MatMul", []string{"h", "wm"}, []string{"z"})
}

// stagesThrough is the stage table up to and including the named stage.
func stagesThrough(t *testing.T, name string) []quantize.Stage {
	t.Helper()
	var out []quantize.Stage
	for _, st := range quantize.Stages() {
		out = append(out, st)
		if st.Name == name {
			return out
		}
	}
	t.Fatalf("no stage %q", name)
	return nil
}

// TestSmoothQuantKeepsTheFloatFunction runs the pipeline through the
// smooth-quant stage and checks, in ONNX Runtime, that every output of the
// rewritten float model is within 1e-5 of its largest value of the
// original's, while the constants did change.
func TestSmoothQuantKeepsTheFloatFunction(t *testing.T) {
	for _, o := range testoracle.All(t) {
		t.Run(o.Name, func(t *testing.T) {
			for name, b := range map[string]*testmodel.Builder{"layernorm": outlierLayerNormMatMul(), "mul-add": outlierMulAddGemm()} {
				samples := writeSamples(t, b, 4)
				gm, err := lower.Lower(b.Model(), "")
				if err != nil {
					t.Fatal(err)
				}
				q := ethosu.NewEthosUQuantizer(ethosu.MustCompileSpec("ethos-u55-128"))
				q.Accuracy = quantize.Accuracy{SmoothQuant: 0.5}
				if _, err := q.RunStages(context.Background(), gm, openSet(t, gm, []string{samples}), false, stagesThrough(t, "smooth-quant")); err != nil {
					t.Fatal(err)
				}
				smoothed, err := lower.Raise(gm)
				if err != nil {
					t.Fatal(err)
				}
				changed := 0
				for _, init := range smoothed.Graph.Initializer {
					if strings.HasSuffix(init.GetName(), "_smooth") {
						changed++
					}
				}
				want := map[string]int{"layernorm": 3, "mul-add": 4}[name]
				if changed != want {
					t.Fatalf("%s: %d smoothed constants, want %d", name, changed, want)
				}
				dims := b.Inputs()[0].Dims
				size := 1
				shape := make([]int, len(dims))
				for i, d := range dims {
					size *= int(d)
					shape[i] = int(d)
				}
				in := map[string]*tensor.Dense{"x": tensor.New(tensor.WithShape(shape...), tensor.WithBacking(testmodel.Ramp(31, size, -2, 2)))}
				ref := runOracle(t, o, b.Model(), []map[string]*tensor.Dense{in})
				got := runOracle(t, o, smoothed, []map[string]*tensor.Dense{in})
				for k := range ref {
					var amax, worst float64
					for i := range ref[k][0] {
						amax = max(amax, math.Abs(ref[k][0][i]))
						worst = max(worst, math.Abs(ref[k][0][i]-got[k][0][i]))
					}
					if worst > 1e-5*amax {
						t.Errorf("%s output %d: smoothed float model differs by %g (largest output %g)", name, k, worst, amax)
					}
				}
			}
		})
	}
}

// TestSmoothQuantHelpsOutlierChannels quantizes outlierLayerNormMatMul
// int8 with and without --smooth-quant: smoothing must gain at least 6 dB
// SQNR on an input calibration never saw.
func TestSmoothQuantHelpsOutlierChannels(t *testing.T) {
	for _, o := range testoracle.All(t) {
		t.Run(o.Name, func(t *testing.T) {
			b := outlierLayerNormMatMul()
			samples := writeSamples(t, b, 8)
			in := map[string]*tensor.Dense{"x": tensor.New(tensor.WithShape(1, 16, 8), tensor.WithBacking(testmodel.Ramp(77, 128, -1, 1)))}
			ref := runOracle(t, o, b.Model(), []map[string]*tensor.Dense{in})
			quantized := func(alpha float64) float64 {
				q := ethosu.NewEthosUQuantizer(ethosu.MustCompileSpec("ethos-u55-128"))
				q.Accuracy = quantize.Accuracy{Observer: quantize.ObserverMinMax, SmoothQuant: alpha}
				res, err := quantizeGraph(t, q, b.Model(), samples)
				if err != nil {
					t.Fatal(err)
				}
				got := runOracle(t, o, res.Model, []map[string]*tensor.Dense{in})
				return sqnr(ref[0], got[0])
			}
			without, with := quantized(0), quantized(0.5)
			t.Logf("SQNR %.1f dB without smoothing, %.1f dB with", without, with)
			if with < without+6 {
				t.Errorf("smoothing gained %.1f dB (%.1f -> %.1f), want at least 6", with-without, without, with)
			}
		})
	}
}
