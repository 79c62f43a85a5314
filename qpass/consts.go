package qpass

import (
	"math"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

const (
	dtFloat = int32(onnxpb.TensorProto_FLOAT)
	dtInt64 = int32(onnxpb.TensorProto_INT64)
)

// constScalar returns the value of a float constant with one element.
func constScalar(v *lower.Value) (float32, bool) {
	f, _, ok := v.ConstantFloats()
	if !ok || len(f) != 1 {
		return 0, false
	}
	return f[0], true
}

// near reports whether a is within rel (relative) of b.
func near(a, b float32, rel float64) bool {
	return math.Abs(float64(a)-float64(b)) <= rel*math.Abs(float64(b))
}

func floatTensor(dims []int64, data []float32) *onnxpb.TensorProto {
	return &onnxpb.TensorProto{Dims: append([]int64{}, dims...), DataType: proto.Int32(dtFloat), FloatData: data}
}

func int64Tensor(dims []int64, data []int64) *onnxpb.TensorProto {
	return &onnxpb.TensorProto{Dims: append([]int64{}, dims...), DataType: proto.Int32(dtInt64), Int64Data: data}
}

// ones returns n ones, the trailing dims of a broadcastable constant.
func ones(n int) []int64 {
	d := make([]int64, n)
	for i := range d {
		d[i] = 1
	}
	return d
}

// rankOf returns the rank of v when known.
func rankOf(v *lower.Value) (int, bool) {
	if v == nil {
		return 0, false
	}
	if v.HasShape {
		return len(v.Shape), true
	}
	if t, _, ok := v.Constant(); ok {
		return len(t.Dims), true
	}
	return 0, false
}

// dimOf returns dimension i of v (negative counts from the end) when known.
func dimOf(v *lower.Value, i int) (int64, bool) {
	if v == nil {
		return 0, false
	}
	var dims []int64
	switch {
	case v.HasShape:
		for _, d := range v.Shape {
			if !d.Known() {
				dims = append(dims, -1)
			} else {
				dims = append(dims, d.Value)
			}
		}
	default:
		t, _, ok := v.Constant()
		if !ok {
			return 0, false
		}
		dims = t.Dims
	}
	if i < 0 {
		i += len(dims)
	}
	if i < 0 || i >= len(dims) || dims[i] < 0 {
		return 0, false
	}
	return dims[i], true
}

// floatTyped reports whether v is known to hold float32: from its declared
// type, its constant, or — for values nobody typed — the operator that
// makes it, following float-preserving operators back to a typed value.
func floatTyped(v *lower.Value) bool { return dtypeOf(v, 8) == dtFloat }

func dtypeOf(v *lower.Value, depth int) int32 {
	if v == nil {
		return 0
	}
	if v.DType != 0 {
		return v.DType
	}
	if t, _, ok := v.Constant(); ok {
		return t.GetDataType()
	}
	p := v.Producer
	if depth == 0 || p == nil {
		return 0
	}
	if p.Op == lower.Placeholder && p.Capture && p.Graph().Outer != nil {
		return dtypeOf(p.Graph().Outer.Value(v.Name), depth-1)
	}
	if p.Op != lower.CallFunction || p.Target.Domain != "" {
		return 0
	}
	switch p.Target.OpType {
	case "Cast":
		return int32(p.AttrInt("to", 0))
	case "Shape", "Size", "ArgMax", "ArgMin", "NonZero":
		return dtInt64
	case "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Not", "And", "Or", "Xor", "IsNaN", "IsInf":
		return int32(onnxpb.TensorProto_BOOL)
	case "Add", "Sub", "Mul", "Div", "Relu", "Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Neg", "Abs",
		"Reciprocal", "Erf", "MatMul", "Gemm", "Conv", "ConvTranspose", "Softmax", "LogSoftmax",
		"Transpose", "Reshape", "Squeeze", "Unsqueeze", "Flatten", "Concat", "Slice", "Split", "Gather",
		"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "Pow", "Clip", "Identity", "Expand", "Tile",
		"Max", "Min", "Where", "BatchNormalization", "LayerNormalization", "Gelu", "Pad", "Resize",
		"MaxPool", "AveragePool", "GlobalAveragePool", "HardSigmoid", "HardSwish", "LeakyRelu":
		start := 0
		if p.Target.OpType == "Where" {
			start = 1
		}
		for _, in := range p.Inputs[min(start, len(p.Inputs)):] {
			if dt := dtypeOf(in, depth-1); dt != 0 {
				return dt
			}
		}
	}
	return 0
}
