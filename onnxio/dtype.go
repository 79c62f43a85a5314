package onnxio

import (
	"fmt"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// DataTypeName returns the ONNX name of a TensorProto data type ("FLOAT",
// "INT8", ...), or "DATATYPE(n)" for numbers the schema does not know, so
// error messages stay readable for files written by newer exporters.
func DataTypeName(dt int32) string {
	if name, ok := onnxpb.TensorProto_DataType_name[dt]; ok {
		return name
	}
	return fmt.Sprintf("DATATYPE(%d)", dt)
}

// elemBits is the storage width of one element in raw_data, in bits. Zero
// means the type has no fixed-width raw encoding (STRING, UNDEFINED, unknown).
func elemBits(dt int32) int {
	switch onnxpb.TensorProto_DataType(dt) {
	case onnxpb.TensorProto_UINT2, onnxpb.TensorProto_INT2:
		return 2
	case onnxpb.TensorProto_UINT4, onnxpb.TensorProto_INT4, onnxpb.TensorProto_FLOAT4E2M1:
		return 4
	case onnxpb.TensorProto_UINT8, onnxpb.TensorProto_INT8, onnxpb.TensorProto_BOOL,
		onnxpb.TensorProto_FLOAT8E4M3FN, onnxpb.TensorProto_FLOAT8E4M3FNUZ,
		onnxpb.TensorProto_FLOAT8E5M2, onnxpb.TensorProto_FLOAT8E5M2FNUZ,
		onnxpb.TensorProto_FLOAT8E8M0:
		return 8
	case onnxpb.TensorProto_UINT16, onnxpb.TensorProto_INT16,
		onnxpb.TensorProto_FLOAT16, onnxpb.TensorProto_BFLOAT16:
		return 16
	case onnxpb.TensorProto_FLOAT, onnxpb.TensorProto_INT32, onnxpb.TensorProto_UINT32:
		return 32
	case onnxpb.TensorProto_INT64, onnxpb.TensorProto_UINT64, onnxpb.TensorProto_DOUBLE,
		onnxpb.TensorProto_COMPLEX64:
		return 64
	case onnxpb.TensorProto_COMPLEX128:
		return 128
	}
	return 0
}

// rawSize is the number of raw_data bytes n elements of type dt occupy.
// Sub-byte types are packed, so an odd count of 4-bit values rounds up.
func rawSize(dt int32, n int64) int64 {
	bits := int64(elemBits(dt))
	return (n*bits + 7) / 8
}
