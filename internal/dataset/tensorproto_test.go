package dataset_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// Writers other than the ONNX test generators use the typed repeated fields
// instead of raw_data; each maps to its dtype as onnx.proto documents.
func TestTensorProtoTypedFieldsDecode(t *testing.T) {
	dtype := func(dt onnxpb.TensorProto_DataType) *int32 { v := int32(dt); return &v }
	for name, tc := range map[string]struct {
		tp   *onnxpb.TensorProto
		want *tensor.Dense
	}{
		"float_data":  {&onnxpb.TensorProto{DataType: dtype(onnxpb.TensorProto_FLOAT), Dims: []int64{2}, FloatData: []float32{1.5, -2}}, dense([]int{2}, float32(1.5), -2)},
		"int64_data":  {&onnxpb.TensorProto{DataType: dtype(onnxpb.TensorProto_INT64), Dims: []int64{}, Int64Data: []int64{16000}}, dense([]int{}, int64(16000))},
		"bool":        {&onnxpb.TensorProto{DataType: dtype(onnxpb.TensorProto_BOOL), Dims: []int64{3}, Int32Data: []int32{1, 0, 1}}, dense([]int{3}, true, false, true)},
		"int8":        {&onnxpb.TensorProto{DataType: dtype(onnxpb.TensorProto_INT8), Dims: []int64{2}, Int32Data: []int32{-128, 127}}, dense([]int{2}, int8(-128), 127)},
		"uint8":       {&onnxpb.TensorProto{DataType: dtype(onnxpb.TensorProto_UINT8), Dims: []int64{1, 2}, Int32Data: []int32{255, 3}}, dense([]int{1, 2}, uint8(255), 3)},
		"double_data": {&onnxpb.TensorProto{DataType: dtype(onnxpb.TensorProto_DOUBLE), Dims: []int64{1}, DoubleData: []float64{0.1}}, dense([]int{1}, 0.1)},
		"raw int32":   {&onnxpb.TensorProto{DataType: dtype(onnxpb.TensorProto_INT32), Dims: []int64{2}, RawData: []byte{1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}}, dense([]int{2}, int32(1), -1)},
	} {
		t.Run(name, func(t *testing.T) {
			tc.tp.Name = proto.String("t")
			b, err := proto.Marshal(tc.tp)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "input_0.pb")
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			gotName, got, err := dataset.ReadTensorProto(path)
			if err != nil {
				t.Fatal(err)
			}
			if gotName != "t" || got.Dtype() != tc.want.Dtype() || !got.Shape().Eq(tc.want.Shape()) || !reflect.DeepEqual(got.Data(), tc.want.Data()) {
				t.Errorf("got %q %v %v %v, want %v %v %v", gotName, got.Dtype(), got.Shape(), got.Data(), tc.want.Dtype(), tc.want.Shape(), tc.want.Data())
			}
		})
	}
}

func TestTensorProtoWithWrongValueCountIsAnError(t *testing.T) {
	dt := int32(onnxpb.TensorProto_FLOAT)
	b, _ := proto.Marshal(&onnxpb.TensorProto{DataType: &dt, Dims: []int64{3}, FloatData: []float32{1, 2}})
	path := filepath.Join(t.TempDir(), "input_0.pb")
	os.WriteFile(path, b, 0o644)
	if _, _, err := dataset.ReadTensorProto(path); err == nil {
		t.Error("a [3] tensor with 2 values was accepted")
	}
}
