package onnxdense

import (
	"encoding/binary"
	"fmt"
	"math"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// dtypeTable is the one mapping between ONNX data types and the gorgonia
// element types that hold them in memory. widened marks the
// reduced-precision floats (held as Float32) and the 4- and 2-bit integers
// (held as Int8/Uint8), whose values the wider type holds but does not
// round to.
var dtypeTable = [...]struct {
	onnx    onnxpb.TensorProto_DataType
	dtype   tensor.Dtype
	widened bool
}{
	{onnxpb.TensorProto_FLOAT, tensor.Float32, false},
	{onnxpb.TensorProto_DOUBLE, tensor.Float64, false},
	{onnxpb.TensorProto_INT8, tensor.Int8, false},
	{onnxpb.TensorProto_UINT8, tensor.Uint8, false},
	{onnxpb.TensorProto_INT16, tensor.Int16, false},
	{onnxpb.TensorProto_UINT16, tensor.Uint16, false},
	{onnxpb.TensorProto_INT32, tensor.Int32, false},
	{onnxpb.TensorProto_UINT32, tensor.Uint32, false},
	{onnxpb.TensorProto_INT64, tensor.Int64, false},
	{onnxpb.TensorProto_UINT64, tensor.Uint64, false},
	{onnxpb.TensorProto_BOOL, tensor.Bool, false},
	{onnxpb.TensorProto_STRING, tensor.String, false},
	{onnxpb.TensorProto_COMPLEX64, tensor.Complex64, false},
	{onnxpb.TensorProto_COMPLEX128, tensor.Complex128, false},
	{onnxpb.TensorProto_FLOAT16, tensor.Float32, true},
	{onnxpb.TensorProto_BFLOAT16, tensor.Float32, true},
	{onnxpb.TensorProto_FLOAT8E4M3FN, tensor.Float32, true},
	{onnxpb.TensorProto_FLOAT8E4M3FNUZ, tensor.Float32, true},
	{onnxpb.TensorProto_FLOAT8E5M2, tensor.Float32, true},
	{onnxpb.TensorProto_FLOAT8E5M2FNUZ, tensor.Float32, true},
	{onnxpb.TensorProto_FLOAT8E8M0, tensor.Float32, true},
	{onnxpb.TensorProto_FLOAT4E2M1, tensor.Float32, true},
	{onnxpb.TensorProto_INT4, tensor.Int8, true},
	{onnxpb.TensorProto_INT2, tensor.Int8, true},
	{onnxpb.TensorProto_UINT4, tensor.Uint8, true},
	{onnxpb.TensorProto_UINT2, tensor.Uint8, true},
}

// DtypeOf returns the gorgonia element type ToDense produces for an ONNX
// data type. Reduced-precision floats (FLOAT16, BFLOAT16, FLOAT8*,
// FLOAT4E2M1) widen to Float32; 4-bit and 2-bit integers widen to
// Int8/Uint8.
func DtypeOf(dt int32) (tensor.Dtype, error) {
	for _, e := range dtypeTable {
		if int32(e.onnx) == dt {
			return e.dtype, nil
		}
	}
	return tensor.Dtype{}, fmt.Errorf("%s: %w", onnxio.DataTypeName(dt), onnxio.ErrUnsupportedType)
}

// Widened reports whether DtypeOf holds dt in a wider element type (see
// dtypeTable); false for types it holds exactly and for unknown ones.
func Widened(dt int32) bool {
	for _, e := range dtypeTable {
		if int32(e.onnx) == dt {
			return e.widened
		}
	}
	return false
}

// DataTypeOf returns the ONNX data type FromDense writes for a gorgonia
// element type.
func DataTypeOf(d tensor.Dtype) (int32, error) {
	for _, e := range dtypeTable {
		if e.dtype == d && !e.widened {
			return int32(e.onnx), nil
		}
	}
	return 0, fmt.Errorf("gorgonia dtype %v: %w", d, onnxio.ErrUnsupportedType)
}

// ToDense decodes a tensor into a gorgonia Dense with the element type
// DtypeOf gives. A scalar (dims []) becomes a Dense of shape (). A tensor
// with zero elements becomes an EmptyDense.
func ToDense(t *onnxpb.TensorProto, dir string) (d *tensor.Dense, err error) {
	wrap := func(err error) error {
		return fmt.Errorf("tensor %q (%s): %w", t.GetName(), onnxio.DataTypeName(t.GetDataType()), err)
	}
	dtype, err := DtypeOf(t.GetDataType())
	if err != nil {
		return nil, wrap(onnxio.ErrUnsupportedType)
	}
	n, err := onnxio.NumElements(t)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		shape := make([]int, len(t.GetDims()))
		for i, x := range t.GetDims() {
			shape[i] = int(x)
		}
		return EmptyDense(shape, dtype), nil
	}
	var backing any
	if dtype == tensor.Float32 {
		backing, err = onnxio.Float32s(t, dir)
	} else {
		backing, err = onnxio.Values(t, dir)
	}
	if err != nil {
		return nil, err
	}
	shape := make([]int, len(t.GetDims()))
	for i, x := range t.GetDims() {
		if x > math.MaxInt32 {
			return nil, wrap(fmt.Errorf("dimension %d too large", x))
		}
		shape[i] = int(x)
	}
	// gorgonia panics on inconsistent input; the checks above should rule
	// that out, but a library bug must not take the caller down.
	defer func() {
		if r := recover(); r != nil {
			d, err = nil, wrap(fmt.Errorf("gorgonia: %v", r))
		}
	}()
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(backing)), nil
}

// FromDense encodes a gorgonia Dense as a TensorProto named name, with the
// data in raw_data (string tensors use string_data, the only encoding ONNX
// allows for them). Views and transposed tensors are materialized first.
func FromDense(name string, d *tensor.Dense) (*onnxpb.TensorProto, error) {
	dt, err := DataTypeOf(d.Dtype())
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", name, err)
	}
	if sh, ok := EmptyShape(d); ok {
		t := &onnxpb.TensorProto{Name: proto.String(name), DataType: proto.Int32(dt), Dims: make([]int64, len(sh)), RawData: []byte{}}
		for i, x := range sh {
			t.Dims[i] = int64(x)
		}
		return t, nil
	}
	if d.RequiresIterator() {
		m, ok := d.Materialize().(*tensor.Dense)
		if !ok {
			return nil, fmt.Errorf("tensor %q: cannot materialize view", name)
		}
		d = m
	}
	shape := d.Shape()
	t := &onnxpb.TensorProto{Name: proto.String(name), DataType: proto.Int32(dt), Dims: make([]int64, len(shape))}
	for i, x := range shape {
		t.Dims[i] = int64(x)
	}
	data := d.Data()
	if len(shape) == 0 {
		data = scalarSlice(data)
	}
	if s, ok := data.([]string); ok {
		for _, x := range s {
			t.StringData = append(t.StringData, []byte(x))
		}
		return t, nil
	}
	raw, err := encodeRaw(data)
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", name, err)
	}
	t.RawData = raw
	return t, nil
}

// scalarSlice wraps the single value gorgonia returns for a shape ()
// Dense's Data() into a one-element slice.
func scalarSlice(v any) any {
	switch x := v.(type) {
	case float32:
		return []float32{x}
	case float64:
		return []float64{x}
	case int8:
		return []int8{x}
	case uint8:
		return []uint8{x}
	case int16:
		return []int16{x}
	case uint16:
		return []uint16{x}
	case int32:
		return []int32{x}
	case uint32:
		return []uint32{x}
	case int64:
		return []int64{x}
	case uint64:
		return []uint64{x}
	case bool:
		return []bool{x}
	case string:
		return []string{x}
	case complex64:
		return []complex64{x}
	case complex128:
		return []complex128{x}
	}
	return v
}

// encodeRaw writes a Go slice in ONNX raw_data layout (little-endian).
func encodeRaw(v any) ([]byte, error) {
	le := binary.LittleEndian
	switch s := v.(type) {
	case []float32:
		out := make([]byte, 4*len(s))
		for i, x := range s {
			le.PutUint32(out[4*i:], math.Float32bits(x))
		}
		return out, nil
	case []float64:
		out := make([]byte, 8*len(s))
		for i, x := range s {
			le.PutUint64(out[8*i:], math.Float64bits(x))
		}
		return out, nil
	case []int8:
		out := make([]byte, len(s))
		for i, x := range s {
			out[i] = byte(x)
		}
		return out, nil
	case []uint8:
		return append([]byte{}, s...), nil
	case []bool:
		out := make([]byte, len(s))
		for i, x := range s {
			if x {
				out[i] = 1
			}
		}
		return out, nil
	case []int16:
		out := make([]byte, 2*len(s))
		for i, x := range s {
			le.PutUint16(out[2*i:], uint16(x))
		}
		return out, nil
	case []uint16:
		out := make([]byte, 2*len(s))
		for i, x := range s {
			le.PutUint16(out[2*i:], x)
		}
		return out, nil
	case []int32:
		out := make([]byte, 4*len(s))
		for i, x := range s {
			le.PutUint32(out[4*i:], uint32(x))
		}
		return out, nil
	case []uint32:
		out := make([]byte, 4*len(s))
		for i, x := range s {
			le.PutUint32(out[4*i:], x)
		}
		return out, nil
	case []int64:
		out := make([]byte, 8*len(s))
		for i, x := range s {
			le.PutUint64(out[8*i:], uint64(x))
		}
		return out, nil
	case []uint64:
		out := make([]byte, 8*len(s))
		for i, x := range s {
			le.PutUint64(out[8*i:], x)
		}
		return out, nil
	case []complex64:
		out := make([]byte, 8*len(s))
		for i, x := range s {
			le.PutUint32(out[8*i:], math.Float32bits(real(x)))
			le.PutUint32(out[8*i+4:], math.Float32bits(imag(x)))
		}
		return out, nil
	case []complex128:
		out := make([]byte, 16*len(s))
		for i, x := range s {
			le.PutUint64(out[16*i:], math.Float64bits(real(x)))
			le.PutUint64(out[16*i+8:], math.Float64bits(imag(x)))
		}
		return out, nil
	}
	return nil, fmt.Errorf("cannot encode %T: %w", v, onnxio.ErrUnsupportedType)
}
