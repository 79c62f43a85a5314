package lower

import (
	"errors"
	"fmt"
	"math"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// This file is the one gate between a model from the outside and the code
// that trusts node structure: the constant evaluator, shape inference and
// the interpreter's kernels index inputs and divide by attributes without
// checking them. Lower runs checkNodes once, so each rule is written once
// and every command gives the same message for the same defect.

// ErrInvalidNode is wrapped by the errors of node validation.
var ErrInvalidNode = errors.New("invalid node")

// minInputs is the number of leading inputs an operator requires (they
// must be present and not omitted), by op type and, where it changed, the
// first opset version of the count.
var minInputs = map[string][]struct{ since, n int64 }{}

func init() {
	set := func(n int64, ops ...string) {
		for _, op := range ops {
			minInputs[op] = append(minInputs[op], struct{ since, n int64 }{1, n})
		}
	}
	from := func(op string, since, n int64) {
		minInputs[op] = append(minInputs[op], struct{ since, n int64 }{since, n})
	}
	set(1, "Abs", "Acos", "Acosh", "Asin", "Asinh", "Atan", "Atanh", "Ceil", "Cos", "Cosh", "Elu", "Erf", "Exp",
		"Floor", "HardSigmoid", "HardSwish", "Identity", "IsInf", "IsNaN", "LeakyRelu", "Log", "LogSoftmax", "Neg",
		"Not", "Reciprocal", "Relu", "Round", "Selu", "Sigmoid", "Sign", "Sin", "Sinh", "Softmax", "Softplus",
		"Softsign", "Sqrt", "Tan", "Tanh", "Gelu", "Mish", "Celu", "ThresholdedRelu", "Shrink",
		"Cast", "Shape", "Size", "Flatten", "Transpose", "Dropout", "Concat", "Sum", "Mean", "Min", "Max",
		"Squeeze", "Unsqueeze", "Slice", "Pad", "Resize", "Upsample", "TopK", "Split", "Clip", "ConstantOfShape",
		"MaxPool", "AveragePool", "LpPool", "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool",
		"DepthToSpace", "SpaceToDepth", "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd",
		"ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare", "ArgMax", "ArgMin",
		"NonZero", "Trilu", "LRN", "Einsum", "EyeLike", "Hardmax", "MeanVarianceNormalization")
	set(2, "Add", "Sub", "Mul", "Div", "Pow", "Mod", "And", "Or", "Xor", "Equal", "Greater", "Less",
		"GreaterOrEqual", "LessOrEqual", "PRelu", "MatMul", "Gemm", "Conv", "ConvTranspose", "Expand", "Gather",
		"GatherElements", "GatherND", "Reshape", "Tile", "CastLike", "CumSum", "QuantizeLinear", "DequantizeLinear",
		"LayerNormalization", "BitShift", "MatMulInteger", "RMSNormalization")
	set(3, "Where", "Range", "ScatterND", "ScatterElements", "OneHot", "LSTM", "GRU", "RNN", "InstanceNormalization",
		"GroupNormalization", "RotaryEmbedding", "Attention")
	set(5, "BatchNormalization")
	from("Slice", 10, 3)
	from("Unsqueeze", 13, 2)
	from("Pad", 11, 2)
	from("Resize", 10, 2)
	from("Resize", 13, 1) // roi became optional
	from("Upsample", 9, 2)
	from("TopK", 10, 2)
}

// attrTypes are the types of attribute names that mean the same across
// the default domain's operators; an attribute of another type would be
// silently read as its default.
var attrTypes = map[string]onnxpb.AttributeProto_AttributeType{
	"strides": onnxpb.AttributeProto_INTS, "dilations": onnxpb.AttributeProto_INTS,
	"kernel_shape": onnxpb.AttributeProto_INTS, "pads": onnxpb.AttributeProto_INTS,
	"perm": onnxpb.AttributeProto_INTS, "output_padding": onnxpb.AttributeProto_INTS,
	"output_shape": onnxpb.AttributeProto_INTS, "starts": onnxpb.AttributeProto_INTS,
	"ends":  onnxpb.AttributeProto_INTS,
	"group": onnxpb.AttributeProto_INT, "axis": onnxpb.AttributeProto_INT, "keepdims": onnxpb.AttributeProto_INT,
	"to": onnxpb.AttributeProto_INT, "ceil_mode": onnxpb.AttributeProto_INT, "transA": onnxpb.AttributeProto_INT,
	"transB": onnxpb.AttributeProto_INT, "allowzero": onnxpb.AttributeProto_INT, "blocksize": onnxpb.AttributeProto_INT,
	"count_include_pad": onnxpb.AttributeProto_INT, "hidden_size": onnxpb.AttributeProto_INT,
	"epsilon":  onnxpb.AttributeProto_FLOAT,
	"auto_pad": onnxpb.AttributeProto_STRING, "mode": onnxpb.AttributeProto_STRING,
	"coordinate_transformation_mode": onnxpb.AttributeProto_STRING, "nearest_mode": onnxpb.AttributeProto_STRING,
}

// windowOps take kernel_shape, strides and dilations over spatial axes.
var windowOps = map[string]bool{"Conv": true, "ConvTranspose": true, "MaxPool": true, "AveragePool": true,
	"LpPool": true, "ConvInteger": true, "QLinearConv": true}

// checkNodes validates the opset imports and every node of gm and its
// bodies: input arity, attribute types and the attribute values that
// arithmetic depends on.
func checkNodes(gm *GraphModule) error {
	if v := gm.Opset(""); v > maxKnownOpset {
		return fmt.Errorf("%w: the model imports default-domain opset %d; the newest this tool knows is %d", ErrInvalidNode, v, maxKnownOpset)
	}
	return gm.Walk(func(m *GraphModule) error {
		for _, n := range m.Graph.Nodes {
			if n.Op != CallFunction && n.Op != CallModule {
				continue
			}
			if err := checkNode(n); err != nil {
				return fmt.Errorf("%s: %w", nodeLabel(m, n), err)
			}
		}
		return nil
	})
}

func checkNode(n *Node) error {
	if n.Target.OpType == "" {
		return fmt.Errorf("%w: the node has no op_type", ErrInvalidNode)
	}
	if n.Target.Domain != "" && n.Target.Domain != "ai.onnx" {
		return nil
	}
	op := n.Target.OpType
	need := int64(0)
	for _, r := range minInputs[op] {
		if n.Target.Version >= r.since {
			need = r.n
		}
	}
	for i := int64(0); i < need; i++ {
		if i >= int64(len(n.Inputs)) || n.Inputs[i] == nil {
			return fmt.Errorf("%w: %s needs at least %d input(s), input %d is missing (the node has %d)",
				ErrInvalidNode, op, need, i, len(n.Inputs))
		}
	}
	for _, a := range n.Attrs {
		want, ok := attrTypes[a.GetName()]
		if !ok || a.Type == nil || a.GetType() == want {
			continue
		}
		return fmt.Errorf("%w: attribute %q is %s, expected %s", ErrInvalidNode, a.GetName(), a.GetType(), want)
	}
	if windowOps[op] {
		for _, name := range []string{"kernel_shape", "strides", "dilations"} {
			for _, v := range n.AttrInts(name, nil) {
				if v < 1 {
					return fmt.Errorf("%w: %s %v must be positive", ErrInvalidNode, name, n.AttrInts(name, nil))
				}
			}
		}
		for _, v := range n.AttrInts("pads", nil) {
			if v < 0 {
				return fmt.Errorf("%w: pads %v must not be negative", ErrInvalidNode, n.AttrInts("pads", nil))
			}
		}
	}
	if n.HasAttr("group") && n.AttrInt("group", 1) < 1 {
		return fmt.Errorf("%w: group %d must be at least 1", ErrInvalidNode, n.AttrInt("group", 1))
	}
	if op == "Range" {
		for i, what := range []string{"start", "limit", "delta"} {
			if v := n.Inputs[i]; v != nil && v.Producer != nil && v.Producer.Op == GetAttr && !v.Producer.AlsoInput {
				if err := checkFiniteScalar(v.Producer.Initializer); err != nil {
					return fmt.Errorf("%w: %s %q: %v", ErrInvalidNode, what, v.Name, err)
				}
			}
		}
	}
	return nil
}

// checkFiniteScalar refuses a NaN or infinite float initializer (Range's
// element count is undefined for them).
func checkFiniteScalar(t *onnxpb.TensorProto) error {
	var vals []float64
	for _, f := range t.GetFloatData() {
		vals = append(vals, float64(f))
	}
	vals = append(vals, t.GetDoubleData()...)
	if raw := t.GetRawData(); len(raw) > 0 {
		if c, err := cTensorFromProto(t, "", 16); err == nil && isFloatType(c.DType) {
			vals = append(vals, c.F...)
		}
	}
	for _, v := range vals {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("value %v is not finite", v)
		}
	}
	return nil
}
