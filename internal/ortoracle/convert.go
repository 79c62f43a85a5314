//go:build ort

package ortoracle

import (
	"fmt"
	"reflect"
	"slices"

	"github.com/onnxquant/onnxquant/internal/onnxdense"
	ort "github.com/yalue/onnxruntime_go"
	"gorgonia.org/tensor"
)

// toValue copies a Dense into an ONNX Runtime value. A 0-d Dense becomes an
// ORT scalar (a tensor of shape []).
func toValue(d *tensor.Dense) (ort.Value, error) {
	switch d.Dtype() {
	case tensor.Float32:
		return makeValue[float32](d)
	case tensor.Float64:
		return makeValue[float64](d)
	case tensor.Int8:
		return makeValue[int8](d)
	case tensor.Int16:
		return makeValue[int16](d)
	case tensor.Int32:
		return makeValue[int32](d)
	case tensor.Int64:
		return makeValue[int64](d)
	case tensor.Uint8:
		return makeValue[uint8](d)
	case tensor.Uint16:
		return makeValue[uint16](d)
	case tensor.Uint32:
		return makeValue[uint32](d)
	case tensor.Uint64:
		return makeValue[uint64](d)
	case tensor.Bool:
		return makeValue[bool](d)
	case tensor.String:
		return stringValue(d)
	}
	return nil, fmt.Errorf("dtype %v is not supported", d.Dtype())
}

func makeValue[T ort.TensorData](d *tensor.Dense) (ort.Value, error) {
	if sh, ok := onnxdense.EmptyShape(d); ok {
		shape := make(ort.Shape, len(sh))
		for i, n := range sh {
			shape[i] = int64(n)
		}
		return ort.NewTensor(shape, []T{})
	}
	data, err := elements[T](d)
	if err != nil {
		return nil, err
	}
	if len(d.Shape()) == 0 {
		return ort.NewScalar(data[0])
	}
	shape := make(ort.Shape, len(d.Shape()))
	for i, n := range d.Shape() {
		shape[i] = int64(n)
	}
	return ort.NewTensor(shape, data)
}

// elements returns a copy of d's elements in row-major order. gorgonia's
// Data() gives the bare value for a 0-d Dense and the backing array (not the
// view) for a view, hence the two special cases.
func elements[T any](d *tensor.Dense) ([]T, error) {
	if d.IsScalar() {
		v, ok := d.Data().(T)
		if !ok {
			return nil, fmt.Errorf("scalar of dtype %v holds %T", d.Dtype(), d.Data())
		}
		return []T{v}, nil
	}
	if d.IsView() {
		m, ok := d.Materialize().(*tensor.Dense)
		if !ok {
			return nil, fmt.Errorf("cannot materialize a view of %v", d.Dtype())
		}
		d = m
	}
	s, ok := d.Data().([]T)
	if !ok {
		return nil, fmt.Errorf("tensor of dtype %v holds %T", d.Dtype(), d.Data())
	}
	return slices.Clone(s), nil
}

// fromValue converts an output value into a Dense of the same element type.
func fromValue(v ort.Value) (*tensor.Dense, error) {
	for _, try := range []func(ort.Value) (*tensor.Dense, bool, error){
		fromTyped[float32], fromTyped[float64],
		fromTyped[int8], fromTyped[int16], fromTyped[int32], fromTyped[int64],
		fromTyped[uint8], fromTyped[uint16], fromTyped[uint32], fromTyped[uint64],
		fromTyped[bool],
	} {
		if d, ok, err := try(v); ok {
			return d, err
		}
	}
	if st, ok := v.(*ort.StringTensor); ok {
		return fromStrings(st)
	}
	if v.GetONNXType() != ort.ONNXTypeTensor {
		return nil, fmt.Errorf("%v outputs are not supported", v.GetONNXType())
	}
	return nil, fmt.Errorf("element type %v is not supported", ort.TensorElementDataType(v.DataType()))
}

func fromTyped[T ort.TensorData](v ort.Value) (*tensor.Dense, bool, error) {
	switch t := v.(type) {
	case *ort.Scalar[T]:
		return tensor.New(tensor.WithShape(), tensor.WithBacking([]T{t.GetData()})), true, nil
	case *ort.Tensor[T]:
		shape := make([]int, len(t.GetShape()))
		empty := false
		for i, n := range t.GetShape() {
			if n < 0 {
				return nil, true, fmt.Errorf("shape %v has a negative dimension", t.GetShape())
			}
			empty = empty || n == 0
			shape[i] = int(n)
		}
		if empty {
			var zero T
			return onnxdense.EmptyDense(shape, tensor.Dtype{Type: reflect.TypeOf(zero)}), true, nil
		}
		data := slices.Clone(t.GetData())
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data)), true, nil
	}
	return nil, false, nil
}

// newScalarOutput pre-allocates a 0-d output. onnxruntime_go cannot wrap a
// 0-d tensor that ORT allocated (it rejects the empty shape), so outputs the
// model declares as scalars are handed to Run ready-made.
func newScalarOutput(dt ort.TensorElementDataType) (ort.Value, bool) {
	var v ort.Value
	var err error
	switch dt {
	case ort.TensorElementDataTypeFloat:
		v, err = ort.NewEmptyScalar[float32]()
	case ort.TensorElementDataTypeDouble:
		v, err = ort.NewEmptyScalar[float64]()
	case ort.TensorElementDataTypeInt8:
		v, err = ort.NewEmptyScalar[int8]()
	case ort.TensorElementDataTypeInt16:
		v, err = ort.NewEmptyScalar[int16]()
	case ort.TensorElementDataTypeInt32:
		v, err = ort.NewEmptyScalar[int32]()
	case ort.TensorElementDataTypeInt64:
		v, err = ort.NewEmptyScalar[int64]()
	case ort.TensorElementDataTypeUint8:
		v, err = ort.NewEmptyScalar[uint8]()
	case ort.TensorElementDataTypeUint16:
		v, err = ort.NewEmptyScalar[uint16]()
	case ort.TensorElementDataTypeUint32:
		v, err = ort.NewEmptyScalar[uint32]()
	case ort.TensorElementDataTypeUint64:
		v, err = ort.NewEmptyScalar[uint64]()
	case ort.TensorElementDataTypeBool:
		v, err = ort.NewEmptyScalar[bool]()
	default:
		return nil, false
	}
	if err != nil {
		return nil, false
	}
	return v, true
}

// stringValue copies a string Dense into an ORT string tensor.
func stringValue(d *tensor.Dense) (ort.Value, error) {
	data, err := elements[string](d)
	if err != nil {
		return nil, err
	}
	shape := make(ort.Shape, len(d.Shape()))
	for i, n := range d.Shape() {
		shape[i] = int64(n)
	}
	if len(shape) == 0 {
		shape = ort.Shape{1}
	}
	t, err := ort.NewStringTensor(shape)
	if err != nil {
		return nil, err
	}
	if err := t.SetContents(data); err != nil {
		t.Destroy()
		return nil, err
	}
	return t, nil
}

// fromStrings reads an ORT string tensor into a string Dense.
func fromStrings(t *ort.StringTensor) (*tensor.Dense, error) {
	data, err := t.GetContents()
	if err != nil {
		return nil, err
	}
	shape := make([]int, len(t.GetShape()))
	for i, n := range t.GetShape() {
		shape[i] = int(n)
	}
	if len(data) == 0 {
		return onnxdense.EmptyDense(shape, tensor.String), nil
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data)), nil
}
