package interp_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/onnxquant/onnxquant/internal/ortoracle"
	"github.com/onnxquant/onnxquant/internal/testenv"
)

// benchModel measures one Run (one calibration sample) of a corpus model.
func benchModel(b *testing.B, model, set string) {
	corpus := testenv.Corpus(b)
	gm := loadModule(b, filepath.Join(corpus, "models", model+".onnx"))
	inputs := readSample(b, gm, testenv.Samples(b, set)[0])
	for _, w := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", w), func(b *testing.B) {
			it := newInterp(b, gm, w)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := it.Run(context.Background(), inputs, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRunResNet18(b *testing.B)        { benchModel(b, "resnet18", "imagenet224") }
func BenchmarkRunMobileNetV2(b *testing.B)     { benchModel(b, "mobilenet_v2", "imagenet224") }
func BenchmarkRunSileroVAD(b *testing.B)       { benchModel(b, "silero_vad_legacy", "silero_legacy_16k") }
func BenchmarkRunTinyTransformer(b *testing.B) { benchModel(b, "tiny_transformer", "logmel16x40") }

// BenchmarkORTResNet18 is the yardstick: ONNX Runtime (1 thread, graph
// optimizations off, as a calibrator that must see every node would run it)
// on the same sample.
func BenchmarkORTResNet18(b *testing.B) {
	corpus := testenv.Corpus(b)
	if !testenv.ORT(b) {
		b.Skip("ONNX Runtime not built in: go test -tags ort")
	}
	path := filepath.Join(corpus, "models", "resnet18.onnx")
	gm := loadModule(b, path)
	inputs := readSample(b, gm, testenv.Samples(b, "imagenet224")[0])
	s, err := ortoracle.NewSession(path, ortoracle.Options{Threads: 1, DisableOptimizations: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for b.Loop() {
		if _, err := s.Run(inputs); err != nil {
			b.Fatal(err)
		}
	}
}
