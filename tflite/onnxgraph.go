package tflite

import (
	"fmt"

	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// Small read-only helpers over the QDQ ONNX graph.

func attr(n *onnxpb.NodeProto, name string) *onnxpb.AttributeProto {
	for _, a := range n.Attribute {
		if a.GetName() == name {
			return a
		}
	}
	return nil
}

func attrInt(n *onnxpb.NodeProto, name string, def int64) int64 {
	if a := attr(n, name); a != nil {
		return a.GetI()
	}
	return def
}

func attrFloat(n *onnxpb.NodeProto, name string, def float32) float32 {
	if a := attr(n, name); a != nil {
		return a.GetF()
	}
	return def
}

func attrString(n *onnxpb.NodeProto, name, def string) string {
	if a := attr(n, name); a != nil {
		return string(a.GetS())
	}
	return def
}

func attrInts(n *onnxpb.NodeProto, name string, def []int64) []int64 {
	if a := attr(n, name); a != nil {
		return a.Ints
	}
	return def
}

// nodeLabel names a node in errors the way the rest of onnxquant does.
func nodeLabel(n *onnxpb.NodeProto) string {
	return fmt.Sprintf("node %q (%s)", n.GetName(), n.GetOpType())
}

// intValues decodes an integer ONNX tensor to int64s.
func intValues(t *onnxpb.TensorProto, dir string) ([]int64, error) {
	v, err := onnxio.Values(t, dir)
	if err != nil {
		return nil, err
	}
	switch s := v.(type) {
	case []int8:
		return widen(s), nil
	case []uint8:
		return widen(s), nil
	case []int16:
		return widen(s), nil
	case []uint16:
		return widen(s), nil
	case []int32:
		return widen(s), nil
	case []int64:
		return s, nil
	}
	return nil, fmt.Errorf("tensor %q: %s is not an integer type", t.GetName(), onnxio.DataTypeName(t.GetDataType()))
}

func widen[T int8 | uint8 | int16 | uint16 | int32](s []T) []int64 {
	out := make([]int64, len(s))
	for i, x := range s {
		out[i] = int64(x)
	}
	return out
}

// floatValues decodes a float ONNX tensor (float32 or float64).
func floatValues(t *onnxpb.TensorProto, dir string) ([]float32, error) {
	v, err := onnxio.Values(t, dir)
	if err != nil {
		return nil, err
	}
	switch s := v.(type) {
	case []float32:
		return s, nil
	case []float64:
		out := make([]float32, len(s))
		for i, x := range s {
			out[i] = float32(x)
		}
		return out, nil
	}
	return nil, fmt.Errorf("tensor %q: %s is not a float type", t.GetName(), onnxio.DataTypeName(t.GetDataType()))
}

// quantType maps an ONNX quantized element type to TFLite.
func quantType(dt int32) (TensorType, bool) {
	switch onnxpb.TensorProto_DataType(dt) {
	case onnxpb.TensorProto_INT8:
		return Int8, true
	case onnxpb.TensorProto_UINT8:
		return Uint8, true
	case onnxpb.TensorProto_INT16:
		return Int16, true
	case onnxpb.TensorProto_INT32:
		return Int32, true
	}
	return 0, false
}

// typeRange is the integer range of a quantized TFLite type.
func typeRange(t TensorType) (lo, hi int64) {
	switch t {
	case Int8:
		return -128, 127
	case Uint8:
		return 0, 255
	case Int16:
		return -32768, 32767
	}
	return -1 << 31, 1<<31 - 1
}
