package lower

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// maxConstElems bounds the tensors the constant evaluator builds: shape
// arithmetic stays far below it, and anything larger is real compute that
// belongs to the runtime, not to graph clean-up.
const maxConstElems = 4096

// maxSplatElems bounds the results of ConstantOfShape and Expand, which copy
// a small constant without computing: exporters pad channels with a
// ConstantOfShape of a whole feature map (tens of thousands of elements),
// and left unfolded it is a node no NPU runs although nothing in it depends
// on the input. Folded, it costs its size in the model file, bounded here.
const maxSplatElems = 1 << 20

// errNoEval says the evaluator does not handle a node (its op, a dtype or
// an attribute it needs); callers treat the output as not constant.
var errNoEval = errors.New("not constant-evaluable")

// cTensor is a small dense tensor for constant evaluation. Integer and
// boolean types keep their values in I (so int64 extremes such as
// Slice's INT64_MAX survive), floating types in F.
type cTensor struct {
	DType int32
	Shape []int64
	I     []int64
	F     []float64
}

func isFloatType(dt int32) bool {
	switch onnxpb.TensorProto_DataType(dt) {
	case onnxpb.TensorProto_FLOAT, onnxpb.TensorProto_DOUBLE, onnxpb.TensorProto_FLOAT16, onnxpb.TensorProto_BFLOAT16:
		return true
	}
	return false
}

func isIntType(dt int32) bool {
	switch onnxpb.TensorProto_DataType(dt) {
	case onnxpb.TensorProto_INT8, onnxpb.TensorProto_UINT8, onnxpb.TensorProto_INT16, onnxpb.TensorProto_UINT16,
		onnxpb.TensorProto_INT32, onnxpb.TensorProto_UINT32, onnxpb.TensorProto_INT64, onnxpb.TensorProto_UINT64,
		onnxpb.TensorProto_BOOL:
		return true
	}
	return false
}

// numElems is the element count of shape; an invalid or overflowing shape
// counts as math.MaxInt64, which every caller refuses as too large.
func numElems(shape []int64) int64 {
	n, err := onnxio.ElemCount(shape)
	if err != nil {
		return math.MaxInt64
	}
	return n
}

// Len is the element count.
func (t *cTensor) Len() int {
	if isFloatType(t.DType) {
		return len(t.F)
	}
	return len(t.I)
}

// float returns element i as a float64 whatever the type.
func (t *cTensor) float(i int) float64 {
	if isFloatType(t.DType) {
		return t.F[i]
	}
	return float64(t.I[i])
}

// int returns element i as an int64 whatever the type (floats truncate).
func (t *cTensor) int(i int) int64 {
	if isFloatType(t.DType) {
		return int64(t.F[i])
	}
	return t.I[i]
}

// ints returns all elements as int64.
func (t *cTensor) ints() []int64 {
	out := make([]int64, t.Len())
	for i := range out {
		out[i] = t.int(i)
	}
	return out
}

func newCTensor(dt int32, shape []int64) *cTensor {
	t := &cTensor{DType: dt, Shape: append([]int64{}, shape...)}
	n := numElems(shape)
	if isFloatType(dt) {
		t.F = make([]float64, n)
	} else {
		t.I = make([]int64, n)
	}
	return t
}

func int64Tensor(shape []int64, vals []int64) *cTensor {
	return &cTensor{DType: int32(onnxpb.TensorProto_INT64), Shape: shape, I: vals}
}

// set stores v (given as float64 or int64 per the type) at i, wrapping
// integers to the type's width as ONNX arithmetic does.
func (t *cTensor) setFloat(i int, v float64) {
	if isFloatType(t.DType) {
		t.F[i] = roundFloat(t.DType, v)
		return
	}
	t.I[i] = wrapInt(t.DType, int64(v))
}

func (t *cTensor) setInt(i int, v int64) {
	if isFloatType(t.DType) {
		t.F[i] = roundFloat(t.DType, float64(v))
		return
	}
	t.I[i] = wrapInt(t.DType, v)
}

// roundFloat rounds to the precision of a floating type.
func roundFloat(dt int32, v float64) float64 {
	switch onnxpb.TensorProto_DataType(dt) {
	case onnxpb.TensorProto_FLOAT:
		return float64(float32(v))
	case onnxpb.TensorProto_FLOAT16:
		return float64(onnxio.Float16ToFloat32(onnxio.Float32ToFloat16(float32(v))))
	case onnxpb.TensorProto_BFLOAT16:
		return float64(onnxio.BFloat16ToFloat32(onnxio.Float32ToBFloat16(float32(v))))
	}
	return v
}

func wrapInt(dt int32, v int64) int64 {
	switch onnxpb.TensorProto_DataType(dt) {
	case onnxpb.TensorProto_INT8:
		return int64(int8(v))
	case onnxpb.TensorProto_UINT8:
		return int64(uint8(v))
	case onnxpb.TensorProto_INT16:
		return int64(int16(v))
	case onnxpb.TensorProto_UINT16:
		return int64(uint16(v))
	case onnxpb.TensorProto_INT32:
		return int64(int32(v))
	case onnxpb.TensorProto_UINT32:
		return int64(uint32(v))
	case onnxpb.TensorProto_BOOL:
		if v != 0 {
			return 1
		}
		return 0
	}
	return v
}

// cTensorFromProto decodes an initializer or Constant value. Tensors above
// limit elements, and types the evaluator does not compute in, give
// errNoEval.
func cTensorFromProto(tp *onnxpb.TensorProto, dir string, limit int64) (*cTensor, error) {
	dt := tp.GetDataType()
	if !isFloatType(dt) && !isIntType(dt) {
		return nil, errNoEval
	}
	n, err := onnxio.NumElements(tp)
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, errNoEval
	}
	raw, err := onnxio.Values(tp, dir)
	if err != nil {
		return nil, err
	}
	t := newCTensor(dt, tp.GetDims())
	switch v := raw.(type) {
	case []float32:
		for i, x := range v {
			t.F[i] = float64(x)
		}
	case []float64:
		copy(t.F, v)
	case []uint16:
		for i, x := range v {
			switch onnxpb.TensorProto_DataType(dt) {
			case onnxpb.TensorProto_FLOAT16:
				t.F[i] = float64(onnxio.Float16ToFloat32(x))
			case onnxpb.TensorProto_BFLOAT16:
				t.F[i] = float64(onnxio.BFloat16ToFloat32(x))
			default:
				t.I[i] = int64(x)
			}
		}
	case []int8:
		widen(t.I, v)
	case []uint8:
		widen(t.I, v)
	case []int16:
		widen(t.I, v)
	case []int32:
		widen(t.I, v)
	case []uint32:
		widen(t.I, v)
	case []int64:
		copy(t.I, v)
	case []uint64:
		widen(t.I, v)
	case []bool:
		for i, x := range v {
			if x {
				t.I[i] = 1
			}
		}
	default:
		return nil, errNoEval
	}
	return t, nil
}

// toProto encodes the tensor as raw little-endian data.
func (t *cTensor) toProto(name string) *onnxpb.TensorProto {
	le := binary.LittleEndian
	n := t.Len()
	var raw []byte
	switch onnxpb.TensorProto_DataType(t.DType) {
	case onnxpb.TensorProto_FLOAT:
		raw = make([]byte, 4*n)
		for i, v := range t.F {
			le.PutUint32(raw[4*i:], math.Float32bits(float32(v)))
		}
	case onnxpb.TensorProto_DOUBLE:
		raw = make([]byte, 8*n)
		for i, v := range t.F {
			le.PutUint64(raw[8*i:], math.Float64bits(v))
		}
	case onnxpb.TensorProto_FLOAT16:
		raw = make([]byte, 2*n)
		for i, v := range t.F {
			le.PutUint16(raw[2*i:], onnxio.Float32ToFloat16(float32(v)))
		}
	case onnxpb.TensorProto_BFLOAT16:
		raw = make([]byte, 2*n)
		for i, v := range t.F {
			le.PutUint16(raw[2*i:], onnxio.Float32ToBFloat16(float32(v)))
		}
	case onnxpb.TensorProto_INT8, onnxpb.TensorProto_UINT8, onnxpb.TensorProto_BOOL:
		raw = make([]byte, n)
		for i, v := range t.I {
			raw[i] = byte(v)
		}
	case onnxpb.TensorProto_INT16, onnxpb.TensorProto_UINT16:
		raw = make([]byte, 2*n)
		for i, v := range t.I {
			le.PutUint16(raw[2*i:], uint16(v))
		}
	case onnxpb.TensorProto_INT32, onnxpb.TensorProto_UINT32:
		raw = make([]byte, 4*n)
		for i, v := range t.I {
			le.PutUint32(raw[4*i:], uint32(v))
		}
	default: // INT64, UINT64
		raw = make([]byte, 8*n)
		for i, v := range t.I {
			le.PutUint64(raw[8*i:], uint64(v))
		}
	}
	return &onnxpb.TensorProto{
		Name:     proto.String(name),
		DataType: proto.Int32(t.DType),
		Dims:     append([]int64{}, t.Shape...),
		RawData:  raw,
	}
}

// broadcast returns the multidirectional broadcast of shapes (numpy rules).
func broadcast(shapes ...[]int64) ([]int64, error) {
	rank := 0
	for _, s := range shapes {
		rank = max(rank, len(s))
	}
	out := make([]int64, rank)
	for i := range out {
		out[i] = 1
	}
	for _, s := range shapes {
		off := rank - len(s)
		for i, d := range s {
			switch {
			case d == out[off+i] || d == 1:
			case out[off+i] == 1:
				out[off+i] = d
			default:
				return nil, fmt.Errorf("shapes %v do not broadcast", shapes)
			}
		}
	}
	return out, nil
}

// bcastIndex maps every element of out (row-major) to the element of a
// tensor of shape in that broadcasts to it.
func bcastIndex(out, in []int64) []int {
	n := numElems(out)
	idx := make([]int, n)
	off := len(out) - len(in)
	strides := make([]int64, len(out))
	s := int64(1)
	for i := len(in) - 1; i >= 0; i-- {
		if in[i] != 1 {
			strides[off+i] = s
		}
		s *= in[i]
	}
	coord := make([]int64, len(out))
	for k := int64(0); k < n; k++ {
		var p int64
		for i, c := range coord {
			p += c * strides[i]
		}
		idx[k] = int(p)
		for i := len(out) - 1; i >= 0; i-- {
			coord[i]++
			if coord[i] < out[i] {
				break
			}
			coord[i] = 0
		}
	}
	return idx
}

// normAxis turns a possibly negative axis into [0, rank).
func normAxis(axis int64, rank int) (int, error) {
	if axis < 0 {
		axis += int64(rank)
	}
	if axis < 0 || axis >= int64(rank) {
		return 0, fmt.Errorf("axis %d out of range for rank %d", axis, rank)
	}
	return int(axis), nil
}

// strides returns row-major strides.
func strides(shape []int64) []int64 {
	st := make([]int64, len(shape))
	s := int64(1)
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = s
		s *= shape[i]
	}
	return st
}

// gatherElems builds a tensor of the given shape whose element k is
// src's element pick(k).
func gatherElems(src *cTensor, shape []int64, pick func(k int) int) *cTensor {
	out := newCTensor(src.DType, shape)
	for k := 0; k < out.Len(); k++ {
		j := pick(k)
		if out.F != nil {
			out.F[k] = src.F[j]
		} else {
			out.I[k] = src.I[j]
		}
	}
	return out
}

// widen copies integers of any width into int64s.
func widen[T ~int8 | ~uint8 | ~int16 | ~int32 | ~uint32 | ~uint64](dst []int64, src []T) {
	for i, x := range src {
		dst[i] = int64(x)
	}
}
