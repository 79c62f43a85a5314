package dataset

import (
	"encoding/binary"
	"fmt"
	"os"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// protoTypes maps the ONNX TensorProto data types this package reads to
// gorgonia dtypes.
var protoTypes = map[onnxpb.TensorProto_DataType]tensor.Dtype{
	onnxpb.TensorProto_FLOAT: tensor.Float32, onnxpb.TensorProto_DOUBLE: tensor.Float64,
	onnxpb.TensorProto_INT8: tensor.Int8, onnxpb.TensorProto_INT16: tensor.Int16,
	onnxpb.TensorProto_INT32: tensor.Int32, onnxpb.TensorProto_INT64: tensor.Int64,
	onnxpb.TensorProto_UINT8: tensor.Uint8, onnxpb.TensorProto_UINT16: tensor.Uint16,
	onnxpb.TensorProto_UINT32: tensor.Uint32, onnxpb.TensorProto_UINT64: tensor.Uint64,
	onnxpb.TensorProto_BOOL: tensor.Bool,
}

// ReadTensorProto reads a serialized ONNX TensorProto (the input_N.pb and
// output_N.pb files of ONNX test data sets) and returns its name and value.
func ReadTensorProto(path string) (string, *tensor.Dense, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", nil, err
	}
	var tp onnxpb.TensorProto
	if err := proto.Unmarshal(b, &tp); err != nil {
		return "", nil, fmt.Errorf("%s: not a TensorProto: %w", path, err)
	}
	d, err := tensorFromProto(&tp)
	if err != nil {
		return "", nil, fmt.Errorf("%s: tensor %q: %w", path, tp.GetName(), err)
	}
	return tp.GetName(), d, nil
}

// tensorFromProto decodes raw_data (little-endian) or the typed repeated
// field that ONNX uses for the tensor's data type.
func tensorFromProto(tp *onnxpb.TensorProto) (*tensor.Dense, error) {
	pt := onnxpb.TensorProto_DataType(tp.GetDataType())
	dt, ok := protoTypes[pt]
	if !ok {
		return nil, fmt.Errorf("data type %v is not supported", pt)
	}
	if tp.GetDataLocation() == onnxpb.TensorProto_EXTERNAL || len(tp.GetExternalData()) > 0 {
		return nil, fmt.Errorf("external data is not supported")
	}
	if tp.GetSegment() != nil {
		return nil, fmt.Errorf("segmented tensors are not supported")
	}
	shape := make([]int, len(tp.GetDims()))
	for i, d := range tp.GetDims() {
		shape[i] = int(d)
	}
	if tp.RawData != nil {
		return decodeDense(dt, shape, tp.GetRawData(), binary.LittleEndian)
	}
	n := numElements(shape)
	data, err := makeSlice(dt, n)
	if err != nil {
		return nil, err
	}
	var have int
	switch dst := data.(type) {
	case []float32:
		have = len(tp.GetFloatData())
		copy(dst, tp.GetFloatData())
	case []float64:
		have = len(tp.GetDoubleData())
		copy(dst, tp.GetDoubleData())
	case []int64:
		have = len(tp.GetInt64Data())
		copy(dst, tp.GetInt64Data())
	case []int32:
		have = convertInto(dst, tp.GetInt32Data())
	case []int16:
		have = convertInto(dst, tp.GetInt32Data())
	case []int8:
		have = convertInto(dst, tp.GetInt32Data())
	case []uint16:
		have = convertInto(dst, tp.GetInt32Data())
	case []uint8:
		have = convertInto(dst, tp.GetInt32Data())
	case []uint32:
		have = convertInto(dst, tp.GetUint64Data())
	case []uint64:
		have = len(tp.GetUint64Data())
		copy(dst, tp.GetUint64Data())
	case []bool:
		src := tp.GetInt32Data()
		for i := range min(len(dst), len(src)) {
			dst[i] = src[i] != 0
		}
		have = len(src)
	}
	if have != n {
		return nil, fmt.Errorf("shape %v needs %d values, found %d", shape, n, have)
	}
	return newDense(shape, data)
}

// convertInto copies src into dst with a numeric conversion and returns
// len(src), so the caller can check the count.
func convertInto[D, S int8 | int16 | int32 | uint8 | uint16 | uint32 | uint64](dst []D, src []S) int {
	for i := range min(len(dst), len(src)) {
		dst[i] = D(src[i])
	}
	return len(src)
}
