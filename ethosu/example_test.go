package ethosu_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/onnxquant/onnxquant/calib"
	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
	"github.com/onnxquant/onnxquant/qpass"
)

// The whole flow: load and lower a float model, configure the quantizer
// for a target, quantize it on a calibration set (every If/Loop path must
// be reached by a sample), and save the QDQ model.
func Example() {
	m, err := onnxio.Load("../models/tinynet.onnx")
	if err != nil {
		log.Fatal(err)
	}
	gm, err := lower.Lower(m.Proto, m.Dir)
	if err != nil {
		log.Fatal(err)
	}
	spec, err := ethosu.NewCompileSpec("ethos-u55-128", "", "")
	if err != nil {
		log.Fatal(err)
	}
	q := ethosu.NewEthosUQuantizer(spec).SetGlobal(qpass.SymmetricInt8(true, false))
	samples, err := calib.OpenSamples(gm, "../models/tinynet_calib")
	if err != nil {
		log.Fatal(err)
	}
	res, err := q.QuantizeWithSubmodules(context.Background(), gm, samples, false)
	if err != nil {
		log.Fatal(err) // an *ethosu.IllegalModelError lists every node the target cannot run
	}
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	out := &onnxio.Model{Proto: res.Model, Dir: m.Dir}
	if err := out.Save(filepath.Join(dir, "tinynet_int8.onnx"), onnxio.SaveOptions{}); err != nil {
		log.Fatal(err)
	}
	fmt.Println("calibration samples:", res.Stats.Samples)
	fmt.Println("quantization points:", len(res.Annotation.Points()))
	fmt.Println("legal for", res.Legality.Target+":", res.Legality.Err() == nil)
	// Output:
	// calibration samples: 16
	// quantization points: 10
	// legal for ethos-u55-128: true
}

// Per-module configuration, like ExecuTorch's set_module_name: the
// classifier keeps int16 activations (a16w8) while the rest is int8. On
// U85 the 16-bit tensors stay 16-bit in the saved model.
func ExampleQuantizer_SetModuleName() {
	m, err := onnxio.Load("../models/tinynet.onnx")
	if err != nil {
		log.Fatal(err)
	}
	gm, err := lower.Lower(m.Proto, m.Dir)
	if err != nil {
		log.Fatal(err)
	}
	spec, err := ethosu.NewCompileSpec("ethos-u85-256", "", "")
	if err != nil {
		log.Fatal(err)
	}
	q := ethosu.NewEthosUQuantizer(spec).
		SetGlobal(qpass.SymmetricInt8(true, false)).
		SetModuleName("classifier", qpass.SymmetricA16W8(true, false))
	samples, err := calib.OpenSamples(gm, "../models/tinynet_calib")
	if err != nil {
		log.Fatal(err)
	}
	res, err := q.QuantizeWithSubmodules(context.Background(), gm, samples, false)
	if err != nil {
		log.Fatal(err)
	}
	// Count the activation QuantizeLinear nodes by integer type (the zero
	// point's type): the six int8 tensors of the features, and for the
	// classifier's Gemm its input, requantized to int16, and its output.
	inits := map[string]*onnxpb.TensorProto{}
	for _, t := range res.Model.Graph.Initializer {
		inits[t.GetName()] = t
	}
	count := map[string]int{}
	for _, n := range res.Model.Graph.Node {
		if n.GetOpType() == "QuantizeLinear" {
			count[onnxio.DataTypeName(inits[n.Input[2]].GetDataType())]++
		}
	}
	fmt.Println("int8 activations:", count["INT8"], "int16 activations:", count["INT16"])
	// Output:
	// int8 activations: 6 int16 activations: 2
}
