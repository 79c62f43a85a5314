package interp

import (
	"fmt"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/kernels"
	"github.com/onnxquant/onnxquant/internal/onnxdense"
	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// ONNX TensorProto data types the interpreter can hold.
const (
	dtFloat   = int32(onnxpb.TensorProto_FLOAT)
	dtUint8   = int32(onnxpb.TensorProto_UINT8)
	dtInt8    = int32(onnxpb.TensorProto_INT8)
	dtUint16  = int32(onnxpb.TensorProto_UINT16)
	dtInt16   = int32(onnxpb.TensorProto_INT16)
	dtInt32   = int32(onnxpb.TensorProto_INT32)
	dtInt64   = int32(onnxpb.TensorProto_INT64)
	dtBool    = int32(onnxpb.TensorProto_BOOL)
	dtFloat16 = int32(onnxpb.TensorProto_FLOAT16)
	dtDouble  = int32(onnxpb.TensorProto_DOUBLE)
	dtUint32  = int32(onnxpb.TensorProto_UINT32)
	dtUint64  = int32(onnxpb.TensorProto_UINT64)
	dtBF16    = int32(onnxpb.TensorProto_BFLOAT16)
)

// dtypeOf maps an ONNX data type to the tensor element type that carries it
// (onnxio's table), for the types the interpreter holds: every exact
// numeric type, and FLOAT16 and BFLOAT16 widened to float32 when loaded.
func dtypeOf(dt int32) (tensor.Dtype, bool) {
	d, err := onnxdense.DtypeOf(dt)
	if err != nil || d == tensor.String || d == tensor.Complex64 || d == tensor.Complex128 {
		return tensor.Dtype{}, false
	}
	if onnxdense.Widened(dt) && dt != dtFloat16 && dt != dtBF16 {
		return tensor.Dtype{}, false
	}
	return d, true
}

// onnxTypeOf is the inverse of dtypeOf for the element types tensors carry.
func onnxTypeOf(d tensor.Dtype) int32 {
	dt, _ := onnxdense.DataTypeOf(d)
	return dt
}

// toDense materializes a TensorProto (initializer or Constant value). A
// float32 one shares the proto's raw bytes where it can: kernels never
// write their inputs, and a copy would double the weights' memory.
func toDense(t *onnxpb.TensorProto, dir string) (*tensor.Dense, error) {
	if _, ok := dtypeOf(t.GetDataType()); !ok {
		return nil, fmt.Errorf("tensor %q: data type %s is not supported", t.GetName(), onnxio.DataTypeName(t.GetDataType()))
	}
	var vals any
	shared, ok, err := onnxio.SharedFloat32s(t, dir)
	if err != nil {
		return nil, err
	}
	if ok {
		vals = shared
	} else if vals, err = onnxio.Values(t, dir); err != nil {
		return nil, err
	}
	switch t.GetDataType() {
	case dtFloat16:
		bits := vals.([]uint16)
		f := make([]float32, len(bits))
		for i, b := range bits {
			f[i] = onnxio.Float16ToFloat32(b)
		}
		vals = f
	case dtBF16:
		bits := vals.([]uint16)
		f := make([]float32, len(bits))
		for i, b := range bits {
			f[i] = onnxio.BFloat16ToFloat32(b)
		}
		vals = f
	}
	shape := make([]int, len(t.GetDims()))
	for i, d := range t.GetDims() {
		shape[i] = int(d)
	}
	return newDense(shape, vals)
}

// newDense wraps a backing slice; a zero-element shape gives the kernels'
// empty-tensor form (see kernels.Empty).
func newDense(shape []int, backing any) (*tensor.Dense, error) {
	if prod(shape) == 0 {
		return kernels.New(shape, backing)
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(backing)), nil
}
