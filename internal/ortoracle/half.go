//go:build ort

package ortoracle

import (
	"encoding/binary"
	"fmt"

	ort "github.com/yalue/onnxruntime_go"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/onnxdense"
	"github.com/onnxquant/onnxquant/onnxio"
)

// Half-precision values (float16, bfloat16) travel as raw 2-byte tensors:
// the binding has no Go type for them, and its copy of an ORT-allocated
// output of such a type takes one byte per element. Inputs are narrowed
// from the float32 the rest of the project carries (or taken as the raw
// uint16 bits a bfloat16 test file holds); outputs are allocated here at
// their declared shape and widened back to float32, as the interpreter
// holds them.

func isHalf(dt ort.TensorElementDataType) bool {
	return dt == ort.TensorElementDataTypeFloat16 || dt == ort.TensorElementDataTypeBFloat16
}

// halfInput encodes d as a half-precision input of type dt.
func halfInput(d *tensor.Dense, dt ort.TensorElementDataType) (ort.Value, error) {
	sh := d.Shape()
	shape := make(ort.Shape, len(sh))
	for i, n := range sh {
		shape[i] = int64(n)
	}
	if len(shape) == 0 {
		shape = ort.Shape{1}
	}
	var bits []uint16
	switch data := d.Data().(type) {
	case []float32:
		for _, f := range data {
			if dt == ort.TensorElementDataTypeFloat16 {
				bits = append(bits, onnxio.Float32ToFloat16(f))
			} else {
				bits = append(bits, onnxio.Float32ToBFloat16(f))
			}
		}
	case []uint16:
		bits = data
	default:
		return nil, fmt.Errorf("a %v tensor cannot feed a half-precision input", d.Dtype())
	}
	raw := make([]byte, 2*len(bits))
	for i, b := range bits {
		binary.LittleEndian.PutUint16(raw[2*i:], b)
	}
	return ort.NewCustomDataTensor(shape, raw, dt)
}

// halfOutput allocates a half-precision output of its declared shape; ok
// is false when a dimension is not known.
func halfOutput(info ort.InputOutputInfo) (ort.Value, bool) {
	n := int64(1)
	for _, d := range info.Dimensions {
		if d < 0 {
			return nil, false
		}
		n *= d
	}
	v, err := ort.NewCustomDataTensor(info.Dimensions.Clone(), make([]byte, 2*n), info.DataType)
	return v, err == nil
}

// fromHalf widens a half-precision output to float32.
func fromHalf(v *ort.CustomDataTensor, dt ort.TensorElementDataType) (*tensor.Dense, error) {
	raw := v.GetData()
	f := make([]float32, len(raw)/2)
	for i := range f {
		b := binary.LittleEndian.Uint16(raw[2*i:])
		if dt == ort.TensorElementDataTypeFloat16 {
			f[i] = onnxio.Float16ToFloat32(b)
		} else {
			f[i] = onnxio.BFloat16ToFloat32(b)
		}
	}
	shape := make([]int, len(v.GetShape()))
	for i, n := range v.GetShape() {
		shape[i] = int(n)
	}
	if len(f) == 0 {
		return onnxdense.EmptyDense(shape, tensor.Float32), nil
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(f)), nil
}
