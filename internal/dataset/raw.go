package dataset

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"unsafe"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/onnxio"
)

// Bulk decoding of array payloads. encoding/binary.Read decodes a slice one
// element at a time through an extra copy, which made reading a 600 KB image
// sample cost milliseconds. Instead the payload is read into the memory of
// the backing slice itself, viewed as bytes, and then byte-swapped in place
// when the file's byte order is not the host's. The result is the same as
// binary.Read's: the same bits for every element, and bools normalized to
// false for a zero byte and true for any other.

// makeRaw returns a []T of n elements for dtype dt together with a byte
// view of its memory, of length n*elemSize(dt). The slice is zeroed, except
// a float32 one taken from f32 (when not nil), whose contents are whatever
// it held: the caller overwrites every byte.
func makeRaw(dt tensor.Dtype, n int, f32 func(n int) []float32) (any, []byte, error) {
	switch dt {
	case tensor.Float32:
		if f32 != nil {
			return withBytes(f32(n))
		}
		return withBytes(make([]float32, n))
	case tensor.Float64:
		return withBytes(make([]float64, n))
	case tensor.Int8:
		return withBytes(make([]int8, n))
	case tensor.Int16:
		return withBytes(make([]int16, n))
	case tensor.Int32:
		return withBytes(make([]int32, n))
	case tensor.Int64:
		return withBytes(make([]int64, n))
	case tensor.Uint8:
		return withBytes(make([]uint8, n))
	case tensor.Uint16:
		return withBytes(make([]uint16, n))
	case tensor.Uint32:
		return withBytes(make([]uint32, n))
	case tensor.Uint64:
		return withBytes(make([]uint64, n))
	case tensor.Bool:
		return withBytes(make([]bool, n))
	}
	return nil, nil, fmt.Errorf("unsupported dtype %v", dt)
}

// withBytes returns s and a byte view of its elements' memory. Every T used
// here is a fixed-size number or bool without padding, so the view covers
// exactly the element bytes.
func withBytes[T any](s []T) (any, []byte, error) {
	var zero T
	if len(s) == 0 {
		return s, nil, nil
	}
	return s, unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*int(unsafe.Sizeof(zero))), nil
}

// fromOrder turns raw, the bytes of elements of dtype dt stored in the given
// byte order, into host order in place. Bool bytes become exactly 0 or 1,
// the only values a Go bool may hold.
func fromOrder(dt tensor.Dtype, raw []byte, order binary.ByteOrder) {
	size := elemSize(dt)
	if dt == tensor.Bool {
		for i, b := range raw {
			if b != 0 {
				raw[i] = 1
			}
		}
		return
	}
	if size == 1 || (order == binary.LittleEndian) == onnxio.LittleEndianHost() {
		return
	}
	switch size {
	case 2:
		for i := 0; i+2 <= len(raw); i += 2 {
			raw[i], raw[i+1] = raw[i+1], raw[i]
		}
	case 4:
		for i := 0; i+4 <= len(raw); i += 4 {
			u := binary.LittleEndian.Uint32(raw[i:])
			binary.LittleEndian.PutUint32(raw[i:], bits.ReverseBytes32(u))
		}
	case 8:
		for i := 0; i+8 <= len(raw); i += 8 {
			u := binary.LittleEndian.Uint64(raw[i:])
			binary.LittleEndian.PutUint64(raw[i:], bits.ReverseBytes64(u))
		}
	}
}
