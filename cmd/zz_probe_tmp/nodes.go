package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/tflite"
)

func init() {
	if len(os.Args) > 1 && os.Args[1] == "nodes" {
		m, _ := onnxio.Load(os.Args[2])
		b, _ := tflite.SelectBranch(m, os.Args[3])
		for _, n := range b.Proto.GetGraph().Node {
			if n.GetOpType() == "QuantizeLinear" || n.GetOpType() == "DequantizeLinear" {
				continue
			}
			fmt.Printf("%s %s in=%s out=%s\n", n.GetOpType(), n.GetName(), strings.Join(n.Input, ","), strings.Join(n.Output, ","))
		}
		os.Exit(0)
	}
}
