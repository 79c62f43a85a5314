// Command quantize-in-memory shows onnxquant used as a library: it
// quantizes a float ONNX model for an Ethos-U target from calibration
// samples an application holds in memory (here made up: smooth images in
// [-1, 1]), with no sample files and no third-party tensor type.
//
//	go run . ../../models/tinynet.onnx tinynet_int8.onnx
package main

import (
	"context"
	"fmt"
	"math"
	"os"

	"github.com/onnxquant/onnxquant"
)

// images returns n samples for a model whose input "input" is
// [1, 3, 32, 32]: each a different mix of waves.
func images(n int) onnxquant.Samples {
	var out onnxquant.Samples
	for i := range n {
		data := make([]float32, 3*32*32)
		for c := range 3 {
			for y := range 32 {
				for x := range 32 {
					v := math.Sin(float64(x*(i+1))/9+float64(c)) * math.Cos(float64(y*(c+1))/7-float64(i))
					data[(c*32+y)*32+x] = float32(v)
				}
			}
		}
		out = append(out, map[string]onnxquant.Tensor{"input": {Shape: []int{1, 3, 32, 32}, Float32: data}})
	}
	return out
}

// quantize reads the float model, quantizes it for the target from
// in-memory samples and writes the QDQ model.
func quantize(in, out, target string) (*onnxquant.Result, error) {
	model, err := os.ReadFile(in)
	if err != nil {
		return nil, err
	}
	q, res, err := onnxquant.QuantizeModel(context.Background(), model, onnxquant.Options{
		Target:  target,
		Scheme:  "int8",
		Samples: images(16),
	})
	if err != nil {
		return nil, err
	}
	return res, os.WriteFile(out, q, 0o644)
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: quantize-in-memory FLOAT.onnx OUT.onnx")
		os.Exit(2)
	}
	res, err := quantize(os.Args[1], os.Args[2], "ethos-u55-128")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("wrote %s: %s, %s, %d quantization points from %d in-memory samples\n",
		os.Args[2], res.Target, res.Scheme, res.Points, res.Samples)
}
