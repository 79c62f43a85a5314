// Command gen writes the project's example model, models/tinynet.onnx, and
// its calibration set, models/tinynet_calib/sample_NNN.npy: a small image
// classifier (Conv, BatchNormalization, Relu, MaxPool, Conv, Clip,
// GlobalAveragePool, Gemm) with torch-style node names, so module paths
// (features.conv1, classifier.fc) are recovered from them. Weights and
// samples come from a fixed seed: running it again gives the same bytes.
//
//	go run ./models/gen
package main

import (
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

func main() {
	dir := "models"
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	rng := rand.New(rand.NewPCG(2026, 11))
	m := tinynet(rng)
	if err := os.MkdirAll(filepath.Join(dir, "tinynet_calib"), 0o755); err != nil {
		log.Fatal(err)
	}
	model := &onnxio.Model{Proto: m}
	if err := model.Save(filepath.Join(dir, "tinynet.onnx"), onnxio.SaveOptions{}); err != nil {
		log.Fatal(err)
	}
	for i := 0; i < 16; i++ {
		img := make([]float32, 3*32*32)
		// Smooth blobs plus noise: images with spatial structure, roughly
		// normalised like ImageNet inputs.
		cx, cy := rng.Float64()*32, rng.Float64()*32
		for c := 0; c < 3; c++ {
			gain := rng.Float64()*2 - 1
			for y := 0; y < 32; y++ {
				for x := 0; x < 32; x++ {
					d := math.Hypot(float64(x)-cx, float64(y)-cy)
					img[c*1024+y*32+x] = float32(gain*math.Exp(-d*d/80) + rng.NormFloat64()*0.3)
				}
			}
		}
		t := tensor.New(tensor.WithShape(1, 3, 32, 32), tensor.WithBacking(img))
		if err := dataset.WriteNPY(filepath.Join(dir, "tinynet_calib", fmt.Sprintf("sample_%03d.npy", i)), t); err != nil {
			log.Fatal(err)
		}
	}
}

func tinynet(rng *rand.Rand) *onnxpb.ModelProto {
	g := &onnxpb.GraphProto{Name: proto.String("tinynet")}
	g.Input = []*onnxpb.ValueInfoProto{valueInfo("input", 1, 3, 32, 32)}
	g.Output = []*onnxpb.ValueInfoProto{valueInfo("logits", 1, 10)}
	init := func(name string, dims []int64, scale float64, offset float64) {
		n := 1
		for _, d := range dims {
			n *= int(d)
		}
		vals := make([]float32, n)
		for i := range vals {
			vals[i] = float32(rng.NormFloat64()*scale + offset)
		}
		t := &onnxpb.TensorProto{Name: proto.String(name), Dims: dims, DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), FloatData: vals}
		g.Initializer = append(g.Initializer, t)
	}
	init("features.conv1.weight", []int64{8, 3, 3, 3}, math.Sqrt(2.0/27), 0)
	init("features.bn1.weight", []int64{8}, 0.1, 1)
	init("features.bn1.bias", []int64{8}, 0.1, 0)
	init("features.bn1.running_mean", []int64{8}, 0.05, 0)
	init("features.bn1.running_var", []int64{8}, 0.05, 0.6)
	init("features.conv2.weight", []int64{16, 8, 3, 3}, math.Sqrt(2.0/72), 0)
	init("features.conv2.bias", []int64{16}, 0.05, 0)
	init("classifier.fc.weight", []int64{10, 16}, math.Sqrt(1.0/16), 0)
	init("classifier.fc.bias", []int64{10}, 0.05, 0)
	g.Initializer = append(g.Initializer,
		&onnxpb.TensorProto{Name: proto.String("clip_min"), DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), FloatData: []float32{0}},
		&onnxpb.TensorProto{Name: proto.String("clip_max"), DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), FloatData: []float32{6}})
	node := func(name, op string, in, out []string, attrs ...*onnxpb.AttributeProto) {
		g.Node = append(g.Node, &onnxpb.NodeProto{Name: proto.String(name), OpType: proto.String(op), Input: in, Output: out, Attribute: attrs})
	}
	ints := func(name string, v ...int64) *onnxpb.AttributeProto {
		return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
	}
	node("/features/conv1/Conv", "Conv", []string{"input", "features.conv1.weight"}, []string{"/features/conv1/Conv_output_0"},
		ints("kernel_shape", 3, 3), ints("pads", 1, 1, 1, 1))
	node("/features/bn1/BatchNormalization", "BatchNormalization",
		[]string{"/features/conv1/Conv_output_0", "features.bn1.weight", "features.bn1.bias", "features.bn1.running_mean", "features.bn1.running_var"},
		[]string{"/features/bn1/BatchNormalization_output_0"})
	node("/features/relu1/Relu", "Relu", []string{"/features/bn1/BatchNormalization_output_0"}, []string{"/features/relu1/Relu_output_0"})
	node("/features/pool/MaxPool", "MaxPool", []string{"/features/relu1/Relu_output_0"}, []string{"/features/pool/MaxPool_output_0"},
		ints("kernel_shape", 2, 2), ints("strides", 2, 2))
	node("/features/conv2/Conv", "Conv", []string{"/features/pool/MaxPool_output_0", "features.conv2.weight", "features.conv2.bias"},
		[]string{"/features/conv2/Conv_output_0"}, ints("kernel_shape", 3, 3), ints("pads", 1, 1, 1, 1))
	node("/features/act2/Clip", "Clip", []string{"/features/conv2/Conv_output_0", "clip_min", "clip_max"}, []string{"/features/act2/Clip_output_0"})
	node("/avgpool/GlobalAveragePool", "GlobalAveragePool", []string{"/features/act2/Clip_output_0"}, []string{"/avgpool/GlobalAveragePool_output_0"})
	node("/Flatten", "Flatten", []string{"/avgpool/GlobalAveragePool_output_0"}, []string{"/Flatten_output_0"})
	node("/classifier/fc/Gemm", "Gemm", []string{"/Flatten_output_0", "classifier.fc.weight", "classifier.fc.bias"}, []string{"logits"},
		&onnxpb.AttributeProto{Name: proto.String("transB"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(1)})
	return &onnxpb.ModelProto{
		IrVersion:    proto.Int64(8),
		ProducerName: proto.String("onnxquant models/gen"),
		OpsetImport:  []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}},
		Graph:        g,
	}
}

func valueInfo(name string, dims ...int64) *onnxpb.ValueInfoProto {
	sh := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		sh.Dim = append(sh.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
	}
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
		TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Shape: sh}}}}
}
