package ethosu_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/calib/dataset"
	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/internal/testoracle"
	"github.com/onnxquant/onnxquant/quantize"
)

// quietChannelMatMul is a MatMul reading two channels: channel 0 is
// weighted a thousand times less than channel 1, so its saturation barely
// reaches the output, while channel 1's resolution is what the output
// keeps.
func quietChannelMatMul() *testmodel.Builder {
	return testmodel.New(13).Input("x", 1, 64, 2).Output("y", 1, 64, 3).
		Init("w", []int64{2, 3}, 0.001, 0.001, -0.001, 1, -1, 0.5).
		NamedNode("mm", "MatMul", []string{"x", "w"}, []string{"y"})
}

// quietChannelSample is x with channel 0 in [-a, a] and channel 1 in
// [-1, 1].
func quietChannelSample(seed uint64, a float32) *tensor.Dense {
	quiet := testmodel.Ramp(seed, 64, -a, a)
	loud := testmodel.Ramp(seed+1000, 64, -1, 1)
	data := make([]float32, 128)
	for i := 0; i < 64; i++ {
		data[2*i], data[2*i+1] = quiet[i], loud[i]
	}
	return tensor.New(tensor.WithShape(1, 64, 2), tensor.WithBacking(data))
}

// TestAutoConsumersJudgesByTheOutput calibrates quietChannelMatMul on
// samples whose quiet channel reaches 1 on the fitting half and 3 on the
// judging half. Judged by the input's own error, the judging half's
// saturation of the quiet channel makes min/max widened by half win, and
// the loud channel loses resolution; judged by the MatMul's output, the
// saturation costs nothing and min/max (over all samples) wins. On a new
// input the consumer-judged choice must keep at least 2 dB more SQNR.
func TestAutoConsumersJudgesByTheOutput(t *testing.T) {
	b := quietChannelMatMul()
	dir := t.TempDir()
	for s := 0; s < 8; s++ {
		a := float32(1)
		if s%2 == 1 {
			a = 3
		}
		sd := filepath.Join(dir, fmt.Sprintf("sample_%03d", s))
		if err := os.MkdirAll(sd, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := dataset.WriteNPY(filepath.Join(sd, "x.npy"), quietChannelSample(uint64(10*s), a)); err != nil {
			t.Fatal(err)
		}
	}
	in := map[string]*tensor.Dense{"x": quietChannelSample(999, 3)}
	for _, o := range testoracle.All(t) {
		t.Run(o.Name, func(t *testing.T) {
			ref := runOracle(t, o, b.Model(), []map[string]*tensor.Dense{in})
			quantized := func(obs quantize.ObserverChoice) float64 {
				q := ethosu.NewEthosUQuantizer(ethosu.MustCompileSpec("ethos-u55-128"))
				q.Accuracy = quantize.Accuracy{Observer: obs}
				res, err := quantizeGraph(t, q, b.Model(), dir)
				if err != nil {
					t.Fatal(err)
				}
				got := runOracle(t, o, res.Model, []map[string]*tensor.Dense{in})
				return sqnr(ref[0], got[0])
			}
			own, consumers := quantized(quantize.ObserverAuto), quantized(quantize.ObserverAutoConsumers)
			t.Logf("SQNR %.1f dB judged by the tensor's own error, %.1f dB by the consumer's", own, consumers)
			if consumers < own+2 {
				t.Errorf("judging by the consumer gained %.1f dB (%.1f -> %.1f), want at least 2", consumers-own, own, consumers)
			}
		})
	}
}
