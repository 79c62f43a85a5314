package lower

import (
	"fmt"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

const (
	dtFloat = int32(onnxpb.TensorProto_FLOAT)
	dtInt64 = int32(onnxpb.TensorProto_INT64)
	dtBool  = int32(onnxpb.TensorProto_BOOL)
	dtUint8 = int32(onnxpb.TensorProto_UINT8)
)

// Operators whose single output has the type and shape of their first
// input.
var sameAsInput = map[string]bool{
	"Abs": true, "Acos": true, "Asin": true, "Atan": true, "Ceil": true, "Celu": true, "Clip": true, "Cos": true,
	"Cosh": true, "CumSum": true, "Elu": true, "Erf": true, "Exp": true, "Floor": true, "Gelu": true,
	"HardSigmoid": true, "HardSwish": true, "Hardmax": true, "Identity": true, "InstanceNormalization": true,
	"LRN": true, "LeakyRelu": true, "Log": true, "LogSoftmax": true, "MeanVarianceNormalization": true,
	"Mish": true, "Neg": true, "Reciprocal": true, "Relu": true, "Round": true, "Selu": true, "Shrink": true,
	"Sigmoid": true, "Sign": true, "Sin": true, "Sinh": true, "Softmax": true, "Softplus": true,
	"Softsign": true, "Sqrt": true, "Tan": true, "Tanh": true, "ThresholdedRelu": true, "Trilu": true,
	"GroupNormalization": true, "ScatterND": true, "ScatterElements": true, "Scatter": true,
	"ReverseSequence": true, "Not": true, "BitwiseNot": true, "RMSNormalization": true, "RotaryEmbedding": true,
}

// Broadcasting element-wise operators; the value says the output type:
// "" keeps the first input's type, "bool" is a comparison.
var broadcastOps = map[string]string{
	"Add": "", "Sub": "", "Mul": "", "Div": "", "Pow": "", "Mod": "", "PRelu": "", "BitShift": "",
	"Min": "", "Max": "", "Sum": "", "Mean": "", "BitwiseAnd": "", "BitwiseOr": "", "BitwiseXor": "",
	"Equal": "bool", "Greater": "bool", "Less": "bool", "GreaterOrEqual": "bool", "LessOrEqual": "bool",
	"And": "bool", "Or": "bool", "Xor": "bool",
}

// rule infers the output types of one default-domain node. A nil result
// or a zero vtype means nothing is known.
func (inf *inferer) rule(n *Node) ([]vtype, error) {
	op := n.Target.OpType
	x := inf.in(n, 0)
	switch {
	case sameAsInput[op]:
		return []vtype{x}, nil
	case broadcastOps[op] != "" || hasKey(broadcastOps, op):
		var ts []vtype
		for i := range n.Inputs {
			ts = append(ts, inf.in(n, i))
		}
		t, err := broadcastTypes(ts...)
		if err != nil {
			return nil, err
		}
		if broadcastOps[op] == "bool" {
			t.dtype = dtBool
		}
		return []vtype{t}, nil
	}
	switch op {
	case "IsNaN", "IsInf":
		return []vtype{{dtype: dtBool, shape: x.shape, known: x.known}}, nil
	case "Cast":
		return []vtype{{dtype: int32(n.AttrInt("to", 0)), shape: x.shape, known: x.known}}, nil
	case "CastLike":
		return []vtype{{dtype: inf.in(n, 1).dtype, shape: x.shape, known: x.known}}, nil
	case "Dropout":
		return []vtype{x, {dtype: dtBool, shape: x.shape, known: x.known}}, nil
	case "Where":
		t, err := broadcastTypes(inf.in(n, 0), inf.in(n, 1), inf.in(n, 2))
		t.dtype = inf.in(n, 1).dtype
		return []vtype{t}, err
	case "Constant":
		if t := ConstantNodeTensor(n); t != nil {
			return []vtype{{dtype: t.GetDataType(), shape: dimsOf(t.GetDims()), known: true}}, nil
		}
		return nil, nil
	case "BatchNormalization":
		ch := vtype{dtype: x.dtype}
		if x.known && len(x.shape) > 1 {
			ch.shape, ch.known = []Dim{x.shape[1]}, true
		}
		return []vtype{x, ch, ch, ch, ch}, nil
	case "LayerNormalization":
		return inferLayerNorm(n, x), nil
	case "Conv", "ConvInteger", "QLinearConv":
		return inf.inferConvLike(n, x)
	case "ConvTranspose":
		return inferConvTranspose(n, x, inf.in(n, 1))
	case "MaxPool", "AveragePool", "LpPool":
		return inferPool(n, x)
	case "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool":
		if !x.known {
			return []vtype{{dtype: x.dtype}}, nil
		}
		shape := append([]Dim{}, x.shape...)
		for i := 2; i < len(shape); i++ {
			shape[i] = Dim{Value: 1}
		}
		return []vtype{{dtype: x.dtype, shape: shape, known: true}}, nil
	case "Gemm":
		return inferGemm(n, x, inf.in(n, 1))
	case "MatMul", "MatMulInteger":
		t, err := inferMatMul(x, inf.in(n, 1))
		if op == "MatMulInteger" {
			t.dtype = int32(onnxpb.TensorProto_INT32)
		}
		return []vtype{t}, err
	case "Flatten":
		return inferFlatten(n, x)
	case "Reshape":
		return inf.inferReshape(n, x)
	case "Transpose":
		return inferTranspose(n, x)
	case "Squeeze":
		return inf.inferSqueeze(n, x)
	case "Unsqueeze":
		axes, ok := inf.axesOf(n, 1, "axes")
		if !ok || !x.known {
			return []vtype{{dtype: x.dtype}}, nil
		}
		shape, err := unsqueezeShape(x.shape, axes, Dim{Value: 1})
		return []vtype{{dtype: x.dtype, shape: shape, known: err == nil}}, err
	case "Concat":
		return inferConcat(n, inf.inputs(n))
	case "Gather":
		return inferGather(n, x, inf.in(n, 1))
	case "GatherElements":
		return []vtype{{dtype: x.dtype, shape: inf.in(n, 1).shape, known: inf.in(n, 1).known}}, nil
	case "Slice":
		return inf.inferSlice(n, x)
	case "Split":
		return inf.inferSplit(n, x)
	case "Pad":
		return inf.inferPad(n, x)
	case "Expand":
		return inf.inferExpand(n, x)
	case "Tile":
		return inf.inferTile(n, x)
	case "Shape":
		if !x.known {
			return []vtype{{dtype: dtInt64, shape: []Dim{UnknownDim()}, known: true}}, nil
		}
		c := shapeOf(make([]int64, len(x.shape)), n.AttrInt("start", 0), n.Attr("end"), n.AttrInt("end", 0))
		return []vtype{{dtype: dtInt64, shape: dimsOf(c.Shape), known: true}}, nil
	case "Size":
		return []vtype{{dtype: dtInt64, shape: []Dim{}, known: true}}, nil
	case "ConstantOfShape":
		dt := dtFloat
		if t := n.AttrTensor("value"); t != nil {
			dt = t.GetDataType()
		}
		if c := inf.constOf(n, 0); c != nil {
			return []vtype{{dtype: dt, shape: dimsOf(c.ints()), known: true}}, nil
		}
		if s := inf.in(n, 0); s.known && len(s.shape) == 1 && s.shape[0].Known() {
			return []vtype{{dtype: dt, shape: unknownDims(int(s.shape[0].Value)), known: true}}, nil
		}
		return []vtype{{dtype: dt}}, nil
	case "Range":
		return []vtype{{dtype: x.dtype, shape: []Dim{UnknownDim()}, known: true}}, nil
	case "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
		"ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare":
		return inf.inferReduce(n, x)
	case "ArgMax", "ArgMin":
		t, err := reduceShape(x, []int64{n.AttrInt("axis", 0)}, true, n.AttrInt("keepdims", 1) != 0, false)
		t.dtype = dtInt64
		return []vtype{t}, err
	case "TopK":
		return inf.inferTopK(n, x)
	case "NonZero":
		s := vtype{dtype: dtInt64}
		if x.known {
			s.shape, s.known = []Dim{{Value: int64(len(x.shape))}, UnknownDim()}, true
		}
		return []vtype{s}, nil
	case "QuantizeLinear":
		dt := int32(n.AttrInt("output_dtype", 0))
		if zp := inf.in(n, 2); zp.dtype != 0 {
			dt = zp.dtype
		}
		if dt == 0 {
			dt = dtUint8
		}
		return []vtype{{dtype: dt, shape: x.shape, known: x.known}}, nil
	case "DequantizeLinear":
		dt := inf.in(n, 1).dtype
		if od := n.AttrInt("output_dtype", 0); od != 0 {
			dt = int32(od)
		}
		return []vtype{{dtype: dt, shape: x.shape, known: x.known}}, nil
	case "Resize", "Upsample":
		return inf.inferResize(n, x)
	case "LSTM", "GRU", "RNN":
		return inferRNN(n, x, inf.in(n, 5)), nil
	case "DepthToSpace", "SpaceToDepth":
		return inferDepthSpace(n, x), nil
	case "OneHot", "Einsum", "Compress", "NonMaxSuppression", "Unique":
		return nil, nil
	}
	return nil, nil
}

func (inf *inferer) inferConvLike(n *Node, x vtype) ([]vtype, error) {
	switch n.Target.OpType {
	case "ConvInteger":
		ts, err := inferConv(n, x, inf.in(n, 1))
		if len(ts) > 0 {
			ts[0].dtype = int32(onnxpb.TensorProto_INT32)
		}
		return ts, err
	case "QLinearConv":
		ts, err := inferConv(n, x, inf.in(n, 3))
		if len(ts) > 0 {
			ts[0].dtype = inf.in(n, 7).dtype
		}
		return ts, err
	}
	return inferConv(n, x, inf.in(n, 1))
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}

func (inf *inferer) in(n *Node, i int) vtype {
	if i >= len(n.Inputs) {
		return vtype{}
	}
	return typeOf(n.Inputs[i])
}

func (inf *inferer) inputs(n *Node) []vtype {
	out := make([]vtype, len(n.Inputs))
	for i := range n.Inputs {
		out[i] = inf.in(n, i)
	}
	return out
}

// constOf returns the constant value of input i, or nil.
func (inf *inferer) constOf(n *Node, i int) *cTensor {
	if i >= len(n.Inputs) || n.Inputs[i] == nil {
		return nil
	}
	return inf.consts[n.Inputs[i]]
}

// axesOf reads an axes list given as input i (newer opsets) or as the
// attribute (older ones); ok is false when neither is known.
func (inf *inferer) axesOf(n *Node, i int, attr string) ([]int64, bool) {
	if i < len(n.Inputs) && n.Inputs[i] != nil {
		c := inf.constOf(n, i)
		if c == nil {
			return nil, false
		}
		return c.ints(), true
	}
	if a := n.Attr(attr); a != nil {
		return a.GetInts(), true
	}
	return nil, true
}

func unknownDims(r int) []Dim {
	out := make([]Dim, r)
	for i := range out {
		out[i] = UnknownDim()
	}
	return out
}

// broadcastDim merges two dimensions under numpy broadcasting.
func broadcastDim(a, b Dim) (Dim, error) {
	switch {
	case a.Known() && b.Known():
		if a.Value == b.Value || b.Value == 1 {
			return a, nil
		}
		if a.Value == 1 {
			return b, nil
		}
		return Dim{}, fmt.Errorf("dimensions %d and %d do not broadcast", a.Value, b.Value)
	case a.Known() && a.Value == 1:
		return b, nil
	case b.Known() && b.Value == 1:
		return a, nil
	case a.Known():
		return a, nil
	case b.Known():
		return b, nil
	case a.Param != "" && a.Param == b.Param:
		return a, nil
	}
	return UnknownDim(), nil
}

func broadcastTypes(ts ...vtype) (vtype, error) {
	out := vtype{}
	if len(ts) > 0 {
		out.dtype = ts[0].dtype
	}
	rank := 0
	for _, t := range ts {
		if !t.known {
			return out, nil
		}
		rank = max(rank, len(t.shape))
	}
	shape := make([]Dim, rank)
	for i := range shape {
		shape[i] = Dim{Value: 1}
	}
	for _, t := range ts {
		off := rank - len(t.shape)
		for i, d := range t.shape {
			m, err := broadcastDim(shape[off+i], d)
			if err != nil {
				return out, fmt.Errorf("inputs %s: %w", shapesString(ts), err)
			}
			shape[off+i] = m
		}
	}
	out.shape, out.known = shape, true
	return out, nil
}

func shapesString(ts []vtype) string {
	s := ""
	for i, t := range ts {
		if i > 0 {
			s += " and "
		}
		s += shapeString(t)
	}
	return s
}

func shapeString(t vtype) string {
	if !t.known {
		return "[?]"
	}
	s := "["
	for i, d := range t.shape {
		if i > 0 {
			s += ","
		}
		switch {
		case d.Param != "":
			s += d.Param
		case d.Value >= 0:
			s += fmt.Sprint(d.Value)
		default:
			s += "?"
		}
	}
	return s + "]"
}

// mulDims multiplies dimensions; unknown unless all are known.
func mulDims(ds []Dim) Dim {
	p := int64(1)
	for _, d := range ds {
		if !d.Known() {
			return UnknownDim()
		}
		p *= d.Value
	}
	return Dim{Value: p}
}

func sameDim(a, b Dim) (Dim, error) {
	switch {
	case a.Known() && b.Known():
		if a.Value != b.Value {
			return Dim{}, fmt.Errorf("sizes %d and %d differ", a.Value, b.Value)
		}
		return a, nil
	case a.Known():
		return a, nil
	case b.Known():
		return b, nil
	case a.Param != "":
		return a, nil
	}
	return b, nil
}
