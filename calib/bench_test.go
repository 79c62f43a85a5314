package calib_test

// Benchmarks of calibration against ONNX Runtime, for BENCHMARKS.md
// (scripts/bench.sh). Plain `go test` runs none of them.
//
//   - BenchmarkCalibrate*: onnxquant's calibration, one histogram observer
//     per float activation (calib.AllActivations), samples read from disk.
//   - BenchmarkORTCalibrator*: the work ONNX Runtime's calibrator makes it
//     do: every intermediate float value is a graph output, graph
//     optimisations are disabled, and every output is copied out.
//   - BenchmarkORTInference*: the plain model with ONNX Runtime's default
//     optimisations, the speed of ordinary inference.
//
// Each benchmark makes one untimed pass over the samples first, so all of
// them measure steady-state throughput. All report ns/sample; the
// calibration benchmarks also report their time relative to the ONNX
// Runtime calibrator workload at the same thread count (x-ort-calibrator,
// below 1 is faster).

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/calib"
	"github.com/onnxquant/onnxquant/internal/ortoracle"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/lower"
)

// benchSamples is the number of imagenet224 samples one iteration runs.
const benchSamples = 4

var benchThreads = []int{1, 2}

func BenchmarkCalibrateResNet18(b *testing.B)     { benchCalibrate(b, "resnet18") }
func BenchmarkCalibrateMobileNetV2(b *testing.B)  { benchCalibrate(b, "mobilenet_v2") }
func BenchmarkORTCalibratorResNet18(b *testing.B) { benchORT(b, "resnet18", true) }
func BenchmarkORTCalibratorMobileNetV2(b *testing.B) {
	benchORT(b, "mobilenet_v2", true)
}
func BenchmarkORTInferenceResNet18(b *testing.B)    { benchORT(b, "resnet18", false) }
func BenchmarkORTInferenceMobileNetV2(b *testing.B) { benchORT(b, "mobilenet_v2", false) }

func benchCalibrate(b *testing.B, model string) {
	gm := corpusModel(b, model)
	set := openSet(b, gm, testenv.Samples(b, "imagenet224")[:benchSamples]...)
	reqs := calib.AllActivations(gm)
	for _, w := range benchThreads {
		b.Run(fmt.Sprintf("workers=%d", w), func(b *testing.B) {
			// One untimed pass first, as for ONNX Runtime: the numbers
			// are the steady state of a long calibration, not the
			// first samples' warm-up (recycled buffers, lazily grown
			// scratch).
			if _, err := calib.Observe(context.Background(), gm, set, reqs, calib.Options{Workers: w}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := calib.Observe(context.Background(), gm, set, reqs, calib.Options{Workers: w}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			perSample := float64(b.Elapsed().Nanoseconds()) / float64(b.N*benchSamples)
			b.ReportMetric(perSample, "ns/sample")
			if ort := ortCalibratorPerSample(b, model, w); ort > 0 {
				b.ReportMetric(perSample/ort, "x-ort-calibrator")
			}
		})
	}
}

func benchORT(b *testing.B, model string, calibrator bool) {
	if !testenv.ORT(b) {
		b.Skip("ONNX Runtime not built in: go test -tags ort")
	}
	inputs := benchInputs(b, model)
	bytes := ortModel(b, model, calibrator)
	for _, n := range benchThreads {
		b.Run(fmt.Sprintf("threads=%d", n), func(b *testing.B) {
			s, err := ortoracle.NewSessionBytes(bytes, ortoracle.Options{Threads: n, DisableOptimizations: calibrator})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			// One untimed pass: ONNX Runtime sizes its memory arenas on
			// the first runs of a session.
			for _, in := range inputs {
				if _, err := s.Run(in); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for range b.N {
				for _, in := range inputs {
					if _, err := s.Run(in); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(inputs)), "ns/sample")
		})
	}
}

// ortCache holds the ONNX Runtime calibrator's time per sample by model and
// thread count, measured once per benchmark process for the ratios.
var ortCache sync.Map

// ortCalibratorPerSample times the ONNX Runtime calibrator workload on the
// benchmark samples (best of three passes); 0 when ONNX Runtime is missing.
func ortCalibratorPerSample(b *testing.B, model string, threads int) float64 {
	key := fmt.Sprint(model, threads)
	if v, ok := ortCache.Load(key); ok {
		return v.(float64)
	}
	if _, err := ortoracle.Version(); err != nil {
		return 0
	}
	s, err := ortoracle.NewSessionBytes(ortModel(b, model, true), ortoracle.Options{Threads: threads, DisableOptimizations: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	inputs := benchInputs(b, model)
	best := time.Duration(1<<63 - 1)
	for range 3 {
		start := time.Now()
		for _, in := range inputs {
			if _, err := s.Run(in); err != nil {
				b.Fatal(err)
			}
		}
		best = min(best, time.Since(start))
	}
	per := float64(best.Nanoseconds()) / float64(len(inputs))
	ortCache.Store(key, per)
	return per
}

func benchInputs(b *testing.B, model string) []map[string]*tensor.Dense {
	gm := corpusModel(b, model)
	set := openSet(b, gm, testenv.Samples(b, "imagenet224")[:benchSamples]...)
	var out []map[string]*tensor.Dense
	for i := range set.Len() {
		smp, err := set.Load(i)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, smp.Inputs)
	}
	return out
}

// ortModel serialises the model for ONNX Runtime; for the calibrator
// workload every float value a node computes becomes a graph output, as
// onnxruntime.quantization's calibrators do before running the data.
func ortModel(b *testing.B, model string, calibrator bool) []byte {
	gm := corpusModel(b, model)
	if calibrator {
		if n := exposeActivations(gm); n == 0 {
			b.Fatalf("%s: no float activations to expose", model)
		}
	}
	m, err := lower.Raise(gm)
	if err != nil {
		b.Fatal(err)
	}
	bytes, err := proto.Marshal(m)
	if err != nil {
		b.Fatal(err)
	}
	return bytes
}

// exposeActivations adds every float value computed by a top-level node to
// the graph outputs and returns how many it added. Types come from shape
// inference, since graph outputs must declare their element type.
func exposeActivations(gm *lower.GraphModule) int {
	_ = lower.InferShapes(gm, nil)
	out := gm.Graph.OutputNode()
	listed := map[*lower.Value]bool{}
	for _, v := range out.Inputs {
		listed[v] = true
	}
	added := 0
	for _, n := range gm.Graph.Nodes {
		if n.Op != lower.CallFunction && n.Op != lower.CallModule {
			continue
		}
		for _, v := range n.Outputs {
			if v != nil && v.Name != "" && v.DType == 1 && !listed[v] {
				out.SetInputs(append(out.Inputs, v))
				listed[v] = true
				added++
			}
		}
	}
	return added
}
