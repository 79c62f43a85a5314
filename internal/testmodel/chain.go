package testmodel

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// Chain is a model taking x [1,8] through n nodes alternating Add (of a
// constant of its own) and Relu: the shape of a deep network with no
// width, so the time spent on it is the per-node cost of the tool (the
// linear-time benchmark, the interrupt tests).
func Chain(n int) *onnxpb.ModelProto {
	info := func(name string) *onnxpb.ValueInfoProto {
		sh := &onnxpb.TensorShapeProto{Dim: []*onnxpb.TensorShapeProto_Dimension{
			{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: 1}},
			{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: 8}}}}
		return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
			TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Shape: sh}}}}
	}
	g := &onnxpb.GraphProto{Name: proto.String("chain"), Input: []*onnxpb.ValueInfoProto{info("x")}}
	prev := "x"
	for i := range n {
		out := fmt.Sprintf("v%d", i)
		node := &onnxpb.NodeProto{Name: proto.String(fmt.Sprintf("n%d", i)), Output: []string{out}}
		if i%2 == 0 {
			// Each layer has its own weights, as in a real network.
			c := fmt.Sprintf("c%d", i)
			g.Initializer = append(g.Initializer, &onnxpb.TensorProto{Name: proto.String(c), Dims: []int64{1, 8},
				DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), FloatData: []float32{0.5, -0.25, 0.125, 1, -1, 0.75, -0.5, float32(i%7) / 8}})
			node.OpType, node.Input = proto.String("Add"), []string{prev, c}
		} else {
			node.OpType, node.Input = proto.String("Relu"), []string{prev}
		}
		g.Node = append(g.Node, node)
		prev = out
	}
	g.Output = []*onnxpb.ValueInfoProto{info(prev)}
	return &onnxpb.ModelProto{IrVersion: proto.Int64(8), Graph: g,
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}}}
}
