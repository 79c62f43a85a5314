package onnxquant_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/onnxquant/onnxquant"
)

// Quantize a model file for a target from a folder of calibration samples.
func ExampleQuantize() {
	out := filepath.Join(os.TempDir(), "onnxquant_example_int8.onnx")
	defer os.Remove(out)
	res, err := onnxquant.Quantize(context.Background(), "models/tinynet.onnx", out, onnxquant.Options{
		Target: "ethos-u85-256",
		Calib:  []string{"models/tinynet_calib"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s, %s: %d quantization points from %d samples, legal: %v\n",
		res.Target, res.Scheme, res.Points, res.Samples, res.Legality.Err() == nil)
	// Output: ethos-u85-256, int8: 10 quantization points from 16 samples, legal: true
}
