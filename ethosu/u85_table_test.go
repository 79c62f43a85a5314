package ethosu_test

import (
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/internal/testoracle"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
	"github.com/onnxquant/onnxquant/qpass"
)

// spectrum is 256 magnitudes in [0, 10) of which most are small (u^6 for
// u uniform), as in the power spectrum of speech.
func spectrum(seed uint64) []float32 {
	x := testmodel.Ramp(seed, 256, 0, 1)
	for i, u := range x {
		x[i] = 10 * u * u * u * u * u * u
	}
	return x
}

// TestU85A16W8LogNotBelowU55 quantizes Silero's front end, y =
// Log(x·2^20 + 1), at a16w8 on U55 (whose TABLE ops run at int8) and on
// U85. The Log's input spans [1, 10^7]: on its grid every magnitude under
// half a step rounds to 0, where Log is −∞, and comes out at the output
// grid's lower end: −max(y) ≈ −16 on a symmetric int16 grid, 0 on the
// asymmetric int8 one. choose-int16-forms must measure that and keep the
// Log at int8 on U85 as well, which then measures within 0.5 dB of U55.
func TestU85A16W8LogNotBelowU55(t *testing.T) {
	for _, o := range testoracle.All(t) {
		t.Run(o.Name, func(t *testing.T) {
			b := testmodel.New(13).Input("x", 1, 256).Output("y", 1, 256).
				Init("gain", []int64{1}, 1<<20).Init("one", []int64{1}, 1).
				NamedNode("scale", "Mul", []string{"x", "gain"}, []string{"s"}).
				NamedNode("shift", "Add", []string{"s", "one"}, []string{"t"}).
				NamedNode("log", "Log", []string{"t"}, []string{"y"})
			var calib [][]float32
			for s := 0; s < 8; s++ {
				calib = append(calib, spectrum(uint64(s)))
			}
			samples := writeSampleSet(t, "x", []int{1, 256}, calib)
			in := map[string]*tensor.Dense{"x": tensor.New(tensor.WithShape(1, 256), tensor.WithBacking(spectrum(515)))}
			ref := runOracle(t, o, b.Model(), []map[string]*tensor.Dense{in})
			measure := func(target string) float64 {
				q := ethosu.NewEthosUQuantizer(ethosu.MustCompileSpec(target))
				q.SetGlobal(qpass.SymmetricA16W8(true, false))
				res, err := quantizeGraph(t, q, b.Model(), samples)
				if err != nil {
					t.Fatal(err)
				}
				if target == "ethos-u85-256" {
					if f := res.Forms; f == nil || len(f.Choices) != 1 || f.Choices[0].Class != "Log" || !f.Choices[0].Int8 || f.AllInt8 <= f.AllInt16 {
						t.Errorf("choose-int16-forms: %+v, want Log at int8, measured better than at int16", f)
					}
				}
				for _, n := range res.Model.Graph.Node {
					if n.GetOpType() == "QuantizeLinear" && n.Input[0] == "y_float" {
						ix := indexGraph(res.Model.Graph)
						if zp := ix.inits[n.Input[2]]; zp.GetDataType() != int32(onnxpb.TensorProto_INT8) {
							t.Errorf("%s: the Log's output is quantized to type %d, want int8", target, zp.GetDataType())
						}
					}
				}
				got := runOracle(t, o, res.Model, []map[string]*tensor.Dense{in})
				return sqnr(ref[0], got[0])
			}
			u55, u85 := measure("ethos-u55-128"), measure("ethos-u85-256")
			t.Logf("a16w8 Log: U55 %.1f dB, U85 %.1f dB", u55, u85)
			if u85 < u55-0.5 {
				t.Errorf("U85 %.1f dB is more than 0.5 dB below U55 %.1f dB", u85, u55)
			}
		})
	}
}

// TestU85KeepsInt16LogWhereItWins quantizes y = Log(x + 1.52) − Log(x +
// 1.5) at a16w8: the two Logs' inputs never reach 0, and their difference
// is about 1/30 of either, so 8-bit Log outputs lose it while 16-bit ones
// keep it. U55 runs Log at int8 only; on U85 choose-int16-forms measures
// the int16 form as better (the fixed rule it replaces kept every Log at
// int8), and U85 must beat U55 on new samples.
func TestU85KeepsInt16LogWhereItWins(t *testing.T) {
	for _, o := range testoracle.All(t) {
		t.Run(o.Name, func(t *testing.T) {
			b := testmodel.New(13).Input("x", 1, 64).Output("y", 1, 64).
				Init("c_a", []int64{1}, 1.5).Init("c_b", []int64{1}, 1.52).
				NamedNode("add_a", "Add", []string{"x", "c_a"}, []string{"a"}).
				NamedNode("add_b", "Add", []string{"x", "c_b"}, []string{"b"}).
				NamedNode("log_a", "Log", []string{"a"}, []string{"la"}).
				NamedNode("log_b", "Log", []string{"b"}, []string{"lb"}).
				NamedNode("diff", "Sub", []string{"lb", "la"}, []string{"y"})
			samples := writeSampleSet(t, "x", []int{1, 64}, uniformSamples(0, 12))
			var inputs []map[string]*tensor.Dense
			for _, x := range uniformSamples(200, 8) {
				inputs = append(inputs, map[string]*tensor.Dense{"x": tensor.New(tensor.WithShape(1, 64), tensor.WithBacking(x))})
			}
			ref := runOracle(t, o, b.Model(), inputs)
			measure := func(target string) (float64, *ethosu.Result) {
				q := ethosu.NewEthosUQuantizer(ethosu.MustCompileSpec(target))
				q.SetGlobal(qpass.SymmetricA16W8(true, false))
				res, err := quantizeGraph(t, q, b.Model(), samples)
				if err != nil {
					t.Fatal(err)
				}
				return sqnr(ref[0], runOracle(t, o, res.Model, inputs)[0]), res
			}
			u55, _ := measure("ethos-u55-128")
			u85, res := measure("ethos-u85-256")
			t.Logf("a16w8 near-cancelling Logs: U55 %.1f dB, U85 %.1f dB; forms %+v", u55, u85, res.Forms)
			if f := res.Forms; f == nil || len(f.Choices) != 1 || f.Choices[0].Class != "Log" || f.Choices[0].Int8 {
				t.Errorf("choose-int16-forms: %+v, want Log at int16", f)
			}
			if u85 < u55+10 {
				t.Errorf("U85 %.1f dB does not beat U55 %.1f dB by 10 dB: its int16 Log is not used", u85, u55)
			}
		})
	}
}
