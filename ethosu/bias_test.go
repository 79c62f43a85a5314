package ethosu_test

import (
	"math"
	"testing"

	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// A channel whose weights are all zero gets the eps weight scale (2^-16),
// so with a small input scale its bias would not fit int32: the weight
// scale of that channel is raised until it does, and the bias survives.
func TestBiasOfADeadChannelIsNotClamped(t *testing.T) {
	w := []float32{0.5, 0} // channel 0 is alive, channel 1 is dead
	b := testmodel.New(13).Input("x", 1, 1, 2, 2).Output("y", 1, 2, 2, 2).
		Init("w", []int64{2, 1, 1, 1}, w...).Init("bias", []int64{2}, 0.25, 40).
		NamedNode("/conv/Conv", "Conv", []string{"x", "w", "bias"}, []string{"y"})
	// Inputs within ±0.001: s_in·2^-16 ≈ 1.2e-10, so 40 would need 3.4e11 steps.
	res, err := quantizeGraph(t, ethosu.NewEthosUQuantizer(u85()), b.Model(), writeSamples(t, b, 2, [2]float32{-0.001, 0.001}))
	if err != nil {
		t.Fatal(err)
	}
	ix := indexGraph(res.Model.Graph)
	var biasDQ *onnxpb.NodeProto
	for _, n := range ix.byOpType["DequantizeLinear"] {
		if n.Input[0] == "bias_quantized" {
			biasDQ = n
		}
	}
	if biasDQ == nil {
		t.Fatal("no DequantizeLinear of the bias")
	}
	q := ix.ints(t, biasDQ.Input[0])
	s := ix.floats(t, biasDQ.Input[1])
	for c, want := range []float64{0.25, 40} {
		if q[c] == math.MaxInt32 || q[c] == -math.MaxInt32 {
			t.Errorf("channel %d: bias saturated", c)
		}
		if got := float64(q[c]) * float64(s[c]); math.Abs(got-want) > 1e-3*want {
			t.Errorf("channel %d: dequantized bias %g, want %g (q=%d, scale=%g)", c, got, want, q[c], s[c])
		}
	}
}
