package onnxquant_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant"
)

func tinynet(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("models/tinynet.onnx")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ramp is a sample of the example model's input shape.
func ramp(i int) map[string]onnxquant.Tensor {
	data := make([]float32, 3*32*32)
	for j := range data {
		data[j] = float32((i*31+j)%97)/48 - 1
	}
	return map[string]onnxquant.Tensor{"input": {Shape: []int{1, 3, 32, 32}, Float32: data}}
}

func TestQuantizeModelFromMemoryIsDeterministicAndRecordsProvenance(t *testing.T) {
	samples := onnxquant.Samples{ramp(0), ramp(1), ramp(2), ramp(3)}
	a, res, err := onnxquant.QuantizeModel(context.Background(), tinynet(t), onnxquant.Options{Samples: samples, Scheme: "a16w8"})
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := onnxquant.QuantizeModel(context.Background(), tinynet(t), onnxquant.Options{Samples: samples, Scheme: "a16w8", Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) {
		t.Error("-j 1 and -j 2 give different bytes")
	}
	if res.Samples != 4 || res.Scheme != "a16w8" || res.Target != onnxquant.DefaultTarget {
		t.Errorf("result %+v", res)
	}
	if res.Provenance[onnxquant.MetaScheme] != "a16w8" || res.Provenance[onnxquant.MetaSamples] != "4" || len(res.Provenance[onnxquant.MetaSourceSHA256]) != 64 {
		t.Errorf("provenance %v", res.Provenance)
	}
}

func TestOptionMistakesAreErrInvalidOptions(t *testing.T) {
	samples := onnxquant.Samples{ramp(0)}
	for name, opts := range map[string]onnxquant.Options{
		"target":            {Target: "ethos-u99-1", Samples: samples},
		"scheme":            {Scheme: "int4", Samples: samples},
		"both sample kinds": {Samples: samples, Calib: []string{"models/tinynet_calib"}},
		"input shape":       {Samples: samples, InputShapes: map[string][]int64{"input": {1, 4, 32, 32}}},
		"unknown input":     {Samples: samples, InputShapes: map[string][]int64{"image": {1, 3, 32, 32}}},
	} {
		_, _, err := onnxquant.QuantizeModel(context.Background(), tinynet(t), opts)
		if !errors.Is(err, onnxquant.ErrInvalidOptions) {
			t.Errorf("%s: error %v is not ErrInvalidOptions", name, err)
		}
	}
}

func TestBadTensorsFromASampleSourceAreNamed(t *testing.T) {
	short := onnxquant.Samples{{"input": {Shape: []int{1, 3, 32, 32}, Float32: make([]float32, 10)}}}
	_, _, err := onnxquant.QuantizeModel(context.Background(), tinynet(t), onnxquant.Options{Samples: short})
	if err == nil || !strings.Contains(err.Error(), `input "input": shape [1 3 32 32] needs 3072 values, Float32 holds 10`) {
		t.Errorf("error %v", err)
	}
}
