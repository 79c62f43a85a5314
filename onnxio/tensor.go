package onnxio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unsafe"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// ErrUnsupportedType is wrapped when a tensor's data type cannot be
// decoded or converted as asked.
var ErrUnsupportedType = errors.New("unsupported data type")

// TensorShape returns a copy of the tensor's dims; a scalar has shape [].
func TensorShape(t *onnxpb.TensorProto) []int64 {
	return append([]int64{}, t.GetDims()...)
}

// NumElements is the product of the dims, checked for negative sizes and
// overflow so corrupt headers cannot trigger huge allocations.
func NumElements(t *onnxpb.TensorProto) (int64, error) {
	n, err := ElemCount(t.GetDims())
	if err != nil {
		return 0, fmt.Errorf("tensor %q: %w", t.GetName(), err)
	}
	// Callers size byte buffers from the count (up to 16 bytes an element).
	if n > math.MaxInt64/16 {
		return 0, fmt.Errorf("tensor %q: element count of %v overflows", t.GetName(), t.GetDims())
	}
	return n, nil
}

// rawBytes returns the tensor's data in raw little-endian layout when the
// tensor stores it that way (raw_data or external), ok=false when the data
// is in the typed fields.
func rawBytes(t *onnxpb.TensorProto, dir string) (data []byte, ok bool, err error) {
	if IsExternal(t) {
		data, err = readExternal(t, dir)
		return data, true, err
	}
	if t.RawData != nil {
		return t.RawData, true, nil
	}
	return nil, false, nil
}

// Values decodes a tensor's elements into the natural Go slice for its data
// type, reading raw_data (little-endian), external data (relative to dir)
// or the typed fields, whichever holds the data:
//
//	FLOAT []float32, DOUBLE []float64, INT8 and INT4/INT2 []int8,
//	UINT8 and UINT4/UINT2 []uint8, INT16 []int16, UINT16 []uint16,
//	INT32 []int32, UINT32 []uint32, INT64 []int64, UINT64 []uint64,
//	BOOL []bool, STRING []string, COMPLEX64 []complex64,
//	COMPLEX128 []complex128, FLOAT16 and BFLOAT16 []uint16 (bit patterns),
//	FLOAT8* and FLOAT4E2M1 []uint8 (bit patterns, one element per byte).
//
// Sub-byte types are unpacked to one element per slice entry.
func Values(t *onnxpb.TensorProto, dir string) (any, error) {
	v, err := values(t, dir)
	if err != nil {
		return nil, fmt.Errorf("tensor %q (%s): %w", t.GetName(), DataTypeName(t.GetDataType()), err)
	}
	return v, nil
}

func values(t *onnxpb.TensorProto, dir string) (any, error) {
	if t.Segment != nil {
		return nil, errors.New("segmented tensors are not supported")
	}
	n, err := NumElements(t)
	if err != nil {
		return nil, err
	}
	dt := t.GetDataType()
	if onnxpb.TensorProto_DataType(dt) == onnxpb.TensorProto_STRING {
		if len(t.StringData) != int(n) {
			return nil, fmt.Errorf("%d strings for %d elements", len(t.StringData), n)
		}
		out := make([]string, n)
		for i, s := range t.StringData {
			out[i] = string(s)
		}
		return out, nil
	}
	if elemBits(dt) == 0 {
		return nil, ErrUnsupportedType
	}
	raw, isRaw, err := rawBytes(t, dir)
	if err != nil {
		return nil, err
	}
	if !isRaw {
		if raw, err = typedToRaw(t, n); err != nil {
			return nil, err
		}
	}
	if want := rawSize(dt, n); int64(len(raw)) != want {
		return nil, fmt.Errorf("%d data bytes for %d elements (want %d)", len(raw), n, want)
	}
	return decodeRaw(dt, raw, int(n)), nil
}

// typedToRaw re-encodes the typed fields (float_data, int32_data, ...) in
// raw little-endian layout, so decoding has a single path.
func typedToRaw(t *onnxpb.TensorProto, n int64) ([]byte, error) {
	dt := t.GetDataType()
	count := func(got int, want int64) error {
		if int64(got) != want {
			return fmt.Errorf("%d values in the typed field for %d elements", got, n)
		}
		return nil
	}
	switch onnxpb.TensorProto_DataType(dt) {
	case onnxpb.TensorProto_FLOAT, onnxpb.TensorProto_COMPLEX64:
		per := int64(1)
		if onnxpb.TensorProto_DataType(dt) == onnxpb.TensorProto_COMPLEX64 {
			per = 2
		}
		if err := count(len(t.FloatData), n*per); err != nil {
			return nil, err
		}
		out := make([]byte, 4*len(t.FloatData))
		for i, v := range t.FloatData {
			binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
		}
		return out, nil
	case onnxpb.TensorProto_DOUBLE, onnxpb.TensorProto_COMPLEX128:
		per := int64(1)
		if onnxpb.TensorProto_DataType(dt) == onnxpb.TensorProto_COMPLEX128 {
			per = 2
		}
		if err := count(len(t.DoubleData), n*per); err != nil {
			return nil, err
		}
		out := make([]byte, 8*len(t.DoubleData))
		for i, v := range t.DoubleData {
			binary.LittleEndian.PutUint64(out[8*i:], math.Float64bits(v))
		}
		return out, nil
	case onnxpb.TensorProto_INT64:
		if err := count(len(t.Int64Data), n); err != nil {
			return nil, err
		}
		out := make([]byte, 8*len(t.Int64Data))
		for i, v := range t.Int64Data {
			binary.LittleEndian.PutUint64(out[8*i:], uint64(v))
		}
		return out, nil
	case onnxpb.TensorProto_UINT32, onnxpb.TensorProto_UINT64:
		if err := count(len(t.Uint64Data), n); err != nil {
			return nil, err
		}
		size := elemBits(dt) / 8
		out := make([]byte, size*len(t.Uint64Data))
		for i, v := range t.Uint64Data {
			if size == 4 {
				binary.LittleEndian.PutUint32(out[4*i:], uint32(v))
			} else {
				binary.LittleEndian.PutUint64(out[8*i:], v)
			}
		}
		return out, nil
	}
	// Everything else lives in int32_data: one element per entry for
	// 8/16/32-bit types, one packed byte per entry for sub-byte types.
	bits := elemBits(dt)
	entries := n
	if bits < 8 {
		entries = rawSize(dt, n)
	}
	if err := count(len(t.Int32Data), entries); err != nil {
		return nil, err
	}
	size := max(bits/8, 1)
	out := make([]byte, size*len(t.Int32Data))
	for i, v := range t.Int32Data {
		switch size {
		case 1:
			out[i] = byte(v)
		case 2:
			binary.LittleEndian.PutUint16(out[2*i:], uint16(v))
		case 4:
			binary.LittleEndian.PutUint32(out[4*i:], uint32(v))
		}
	}
	return out, nil
}

// decodeRaw turns little-endian bytes (length already checked) into the
// slice type documented on Values.
func decodeRaw(dt int32, raw []byte, n int) any {
	le := binary.LittleEndian
	switch onnxpb.TensorProto_DataType(dt) {
	case onnxpb.TensorProto_FLOAT:
		out := make([]float32, n)
		for i := range out {
			out[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
		}
		return out
	case onnxpb.TensorProto_DOUBLE:
		out := make([]float64, n)
		for i := range out {
			out[i] = math.Float64frombits(le.Uint64(raw[8*i:]))
		}
		return out
	case onnxpb.TensorProto_INT8:
		out := make([]int8, n)
		for i := range out {
			out[i] = int8(raw[i])
		}
		return out
	case onnxpb.TensorProto_UINT8, onnxpb.TensorProto_FLOAT8E4M3FN, onnxpb.TensorProto_FLOAT8E4M3FNUZ,
		onnxpb.TensorProto_FLOAT8E5M2, onnxpb.TensorProto_FLOAT8E5M2FNUZ, onnxpb.TensorProto_FLOAT8E8M0:
		return append([]uint8{}, raw...)
	case onnxpb.TensorProto_BOOL:
		out := make([]bool, n)
		for i := range out {
			out[i] = raw[i] != 0
		}
		return out
	case onnxpb.TensorProto_INT16:
		out := make([]int16, n)
		for i := range out {
			out[i] = int16(le.Uint16(raw[2*i:]))
		}
		return out
	case onnxpb.TensorProto_UINT16, onnxpb.TensorProto_FLOAT16, onnxpb.TensorProto_BFLOAT16:
		out := make([]uint16, n)
		for i := range out {
			out[i] = le.Uint16(raw[2*i:])
		}
		return out
	case onnxpb.TensorProto_INT32:
		out := make([]int32, n)
		for i := range out {
			out[i] = int32(le.Uint32(raw[4*i:]))
		}
		return out
	case onnxpb.TensorProto_UINT32:
		out := make([]uint32, n)
		for i := range out {
			out[i] = le.Uint32(raw[4*i:])
		}
		return out
	case onnxpb.TensorProto_INT64:
		out := make([]int64, n)
		for i := range out {
			out[i] = int64(le.Uint64(raw[8*i:]))
		}
		return out
	case onnxpb.TensorProto_UINT64:
		out := make([]uint64, n)
		for i := range out {
			out[i] = le.Uint64(raw[8*i:])
		}
		return out
	case onnxpb.TensorProto_COMPLEX64:
		out := make([]complex64, n)
		for i := range out {
			out[i] = complex(math.Float32frombits(le.Uint32(raw[8*i:])), math.Float32frombits(le.Uint32(raw[8*i+4:])))
		}
		return out
	case onnxpb.TensorProto_COMPLEX128:
		out := make([]complex128, n)
		for i := range out {
			out[i] = complex(math.Float64frombits(le.Uint64(raw[16*i:])), math.Float64frombits(le.Uint64(raw[16*i+8:])))
		}
		return out
	case onnxpb.TensorProto_INT4:
		return signExtend(unpackBits(raw, n, 4), 4)
	case onnxpb.TensorProto_UINT4, onnxpb.TensorProto_FLOAT4E2M1:
		return unpackBits(raw, n, 4)
	case onnxpb.TensorProto_INT2:
		return signExtend(unpackBits(raw, n, 2), 2)
	case onnxpb.TensorProto_UINT2:
		return unpackBits(raw, n, 2)
	}
	return nil
}

// SharedFloat32s returns the elements of a FLOAT tensor whose data is raw
// little-endian bytes (in the proto or external) as a []float32 sharing
// those bytes' memory, when this host is little-endian and the bytes are
// 4-byte aligned; ok is false otherwise, and then Values gives a copy.
//
// It exists for read-only users of large weights (the calibration
// interpreter): a copy would double the model's share of the process's
// memory. The result must not be written, and t's raw bytes must not be
// written while it is in use (onnxquant replaces a tensor's RawData rather
// than editing it in place).
func SharedFloat32s(t *onnxpb.TensorProto, dir string) (vals []float32, ok bool, err error) {
	if t.GetDataType() != int32(onnxpb.TensorProto_FLOAT) || t.Segment != nil || !LittleEndianHost() {
		return nil, false, nil
	}
	raw, isRaw, err := rawBytes(t, dir)
	if err != nil {
		return nil, false, fmt.Errorf("tensor %q (%s): %w", t.GetName(), DataTypeName(t.GetDataType()), err)
	}
	n, err := NumElements(t)
	if err != nil || !isRaw || n == 0 || int64(len(raw)) != 4*n || uintptr(unsafe.Pointer(unsafe.SliceData(raw)))%4 != 0 {
		return nil, false, nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(raw))), n), true, nil
}

// LittleEndianHost reports whether this machine stores the low byte first,
// the layout of ONNX raw data (and of most .npy files): where it does, such
// bytes can be used in place.
func LittleEndianHost() bool {
	var probe [2]byte
	binary.NativeEndian.PutUint16(probe[:], 1)
	return probe[0] == 1
}
