package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
	"github.com/onnxquant/onnxquant/tflite"
)

// probe IN.onnx BRANCH LEN TARGET EVERY OUTDIR
func main() {
	m, err := onnxio.Load(os.Args[1])
	if err != nil {
		panic(err)
	}
	b, err := tflite.SelectBranch(m, os.Args[2])
	if err != nil {
		panic(err)
	}
	n, _ := strconv.Atoi(os.Args[3])
	every, _ := strconv.Atoi(os.Args[5])
	want := map[string]bool{}
	if strings.HasPrefix(os.Args[5], "n:") {
		for _, w := range strings.Split(os.Args[5][2:], ",") {
			want[w+"_dequantized"] = true
		}
		every = 1
	}
	g := b.Proto.GetGraph()
	k := 0
	var names []string
	for _, nd := range g.Node {
		if nd.GetOpType() != "DequantizeLinear" {
			continue
		}
		// activations only: input produced by a QuantizeLinear
		isAct := false
		for _, p := range g.Node {
			if p.GetOpType() == "QuantizeLinear" && p.Output[0] == nd.Input[0] {
				isAct = true
			}
		}
		if !isAct {
			continue
		}
		k++
		if k%every != 0 || (len(want) > 0 && !want[nd.Output[0]]) {
			continue
		}
		g.Output = append(g.Output, &onnxpb.ValueInfoProto{Name: proto.String(nd.Output[0])})
		names = append(names, nd.Output[0])
	}
	opts := tflite.ExportOptions{Target: os.Args[4], FloatIO: true, InputShapes: map[string][]int64{"input": {1, int64(n)}}}
	var tm *tflite.Model
	for {
		tm, err = tflite.Export(b, opts)
		if err == nil {
			break
		}
		fmt.Fprintln(os.Stderr, "export:", err)
		os.Exit(1)
	}
	data, err := tflite.Marshal(tm)
	if err != nil {
		panic(err)
	}
	os.WriteFile(os.Args[6]+"/p.tflite", data, 0o644)
	if err := b.Save(os.Args[6]+"/p.onnx", onnxio.SaveOptions{}); err != nil {
		panic(err)
	}
	fmt.Println(tflite.Layouts(tm))
	for _, nm := range names {
		fmt.Fprintln(os.Stderr, nm)
	}
}
