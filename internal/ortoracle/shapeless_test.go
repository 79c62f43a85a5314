//go:build ort

package ortoracle_test

import (
	"testing"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/ortoracle"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// identityModel is x -> Identity -> y with y declared without any shape, so
// the oracle cannot know y's rank before running.
func identityModel(t *testing.T, elem onnxpb.TensorProto_DataType) []byte {
	t.Helper()
	typ := func(shaped bool) *onnxpb.TypeProto {
		tt := &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(elem))}
		if shaped {
			tt.Shape = &onnxpb.TensorShapeProto{Dim: []*onnxpb.TensorShapeProto_Dimension{
				{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "n"}},
			}}
		}
		return &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: tt}}
	}
	m := &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}},
		Graph: &onnxpb.GraphProto{
			Name:   proto.String("g"),
			Node:   []*onnxpb.NodeProto{{OpType: proto.String("Identity"), Input: []string{"x"}, Output: []string{"y"}}},
			Input:  []*onnxpb.ValueInfoProto{{Name: proto.String("x"), Type: typ(true)}},
			Output: []*onnxpb.ValueInfoProto{{Name: proto.String("y"), Type: typ(false)}},
		},
	}
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRunBytesHandlesOutputsDeclaredWithoutShape(t *testing.T) {
	testenv.ORT(t)
	model := identityModel(t, onnxpb.TensorProto_BOOL)
	in := tensor.New(tensor.WithShape(3), tensor.WithBacking([]bool{true, false, true}))
	out, err := ortoracle.RunBytes(model, map[string]*tensor.Dense{"x": in})
	if err != nil {
		t.Fatal(err)
	}
	if err := sameTensor(out["y"], in); err != nil {
		t.Error(err)
	}
}
