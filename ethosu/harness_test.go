package ethosu_test

import (
	"context"
	"math"
	"testing"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// corpusModel is one model of the shared corpus with its calibration
// folders (corpus README) and how its accuracy is judged.
type corpusModel struct {
	name  string
	calib []string
	// threshold: outputs are probabilities compared at 0.5 (silero),
	// otherwise the argmax of the first output is compared.
	threshold bool
	// calibCount is how many of the first samples (per folder) calibrate;
	// the last four samples of each folder are never used for calibration.
	calibCount int
}

// evalFrom is the first sample index used for evaluation: calibration uses
// samples below it, evaluation the four from it on.
const evalFrom, evalCount = 12, 4

func corpusModels() []corpusModel {
	return []corpusModel{
		{name: "mobilenet_v2", calib: testenv.CalibSets("mobilenet_v2"), calibCount: 12},
		{name: "resnet18", calib: testenv.CalibSets("resnet18"), calibCount: 12},
		{name: "squeezenet1_1", calib: testenv.CalibSets("squeezenet1_1"), calibCount: 12},
		{name: "mobilenet_v3_small", calib: testenv.CalibSets("mobilenet_v3_small"), calibCount: 12},
		{name: "tiny_transformer", calib: testenv.CalibSets("tiny_transformer"), calibCount: 12},
		{name: "branchy_if_loop", calib: testenv.CalibSets("branchy_if_loop"), calibCount: 12},
		{name: "silero_vad_legacy", calib: testenv.CalibSets("silero_vad_legacy"), threshold: true, calibCount: 12},
		{name: "ppocr_mobile_v2_cls", calib: testenv.CalibSets("ppocr_mobile_v2_cls"), calibCount: 12},
	}
}

// samplePaths lists the sample paths [from, from+n) of every calibration
// folder of m, in name order.
func samplePaths(t testing.TB, corpus string, m corpusModel, from, n int) []string {
	t.Helper()
	var out []string
	for _, dir := range m.calib {
		paths := testenv.Samples(t, dir)
		if from+n > len(paths) {
			t.Fatalf("%s has %d samples, need %d", dir, len(paths), from+n)
		}
		out = append(out, paths[from:from+n]...)
	}
	return out
}

// loadModel reads a corpus model and lowers it.
func loadModel(t testing.TB, path string) (*onnxio.Model, *lower.GraphModule) {
	t.Helper()
	m, err := onnxio.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	gm, err := lower.Lower(m.Proto, m.Dir)
	if err != nil {
		t.Fatal(err)
	}
	return m, gm
}

// openSet opens the samples at paths for gm's inputs.
func openSet(t testing.TB, gm *lower.GraphModule, paths []string) *dataset.Set {
	t.Helper()
	set, err := dataset.Open(paths, dataset.InputSpecs(gm))
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// quantizeModel lowers a fresh copy of the model and quantizes it.
func quantizeModel(t testing.TB, q *ethosu.Quantizer, m *onnxio.Model, paths []string) (*ethosu.Result, error) {
	t.Helper()
	pb := proto.Clone(m.Proto).(*onnxpb.ModelProto)
	gm, err := lower.Lower(pb, m.Dir)
	if err != nil {
		t.Fatal(err)
	}
	// Every stage and transform pass must leave the users index in step.
	q.Verify = (*lower.GraphModule).CheckUsersIndex
	return q.QuantizeWithSubmodules(context.Background(), gm, openSet(t, gm, paths), false)
}

func marshal(t testing.TB, m *onnxpb.ModelProto) []byte {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// float32s returns the data of a float output as float64s.
func float64s(t testing.TB, d *tensor.Dense) []float64 {
	t.Helper()
	switch data := d.Data().(type) {
	case []float32:
		out := make([]float64, len(data))
		for i, v := range data {
			out[i] = float64(v)
		}
		return out
	case float32:
		return []float64{float64(data)}
	}
	t.Fatalf("output of type %v is not float32", d.Dtype())
	return nil
}

// sqnr is the signal-to-quantization-noise ratio in dB of got against ref,
// over all the samples given: 10·log10(Σref² / Σ(ref−got)²).
func sqnr(ref, got [][]float64) float64 {
	var sig, noise float64
	for i := range ref {
		for j := range ref[i] {
			sig += ref[i][j] * ref[i][j]
			d := ref[i][j] - got[i][j]
			noise += d * d
		}
	}
	if noise == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(sig/noise)
}

func argmax(xs []float64) int {
	best := 0
	for i, x := range xs {
		if x > xs[best] {
			best = i
		}
	}
	return best
}
