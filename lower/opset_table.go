package lower

// opHistory lists, for each default-domain operator, the opset versions
// (from 2 up to maxConvertOpset) at which its schema got a new version,
// from the ONNX operator changelog, and the adapter for each step whose
// semantics changed. A nil adapter means the step only widened types,
// added optional inputs/attributes with backward-compatible defaults, or
// otherwise accepts every older model unchanged: the node just moves.
//
// An operator's first version (its "since") is listed too, so conversion
// can tell a model that uses an op before it existed.
type opStep struct {
	version int64
	adapt   adapter
}

// adapter rewrites one node for the step to version to. It may add nodes
// and initializers to the node's graph.
type adapter func(c *converter, n *Node, to int64) error

const (
	minConvertOpset = 7
	maxConvertOpset = 23
	// maxKnownOpset is the newest default-domain opset whose operator
	// changes the tool knows: 22 only widened types (bfloat16 on the ops
	// that lacked it), 23 widened types (float4e2m1) and added Attention,
	// RMSNormalization and RotaryEmbedding. A newer opset may have changed
	// what an operator computes: loading it is an error.
	maxKnownOpset = maxConvertOpset
)

func bump(vs ...int64) []opStep {
	out := make([]opStep, len(vs))
	for i, v := range vs {
		out[i] = opStep{version: v}
	}
	return out
}

func steps(s ...opStep) []opStep { return s }

func at(v int64, a adapter) opStep { return opStep{version: v, adapt: a} }

// opHistory is filled in init so adapters can refer to converter methods.
var opHistory map[string][]opStep

func init() {
	unary13 := bump(1, 6, 13)
	opHistory = map[string][]opStep{
		"Abs": unary13, "Ceil": unary13, "Floor": unary13, "Neg": unary13, "Reciprocal": unary13,
		"Sqrt": unary13, "Exp": unary13, "Log": unary13, "Sigmoid": unary13, "Tanh": unary13,
		"Relu": bump(1, 6, 13, 14),
		"Acos": bump(7), "Asin": bump(7), "Atan": bump(7), "Cos": bump(7), "Sin": bump(7), "Tan": bump(7),
		"Acosh": bump(9), "Asinh": bump(9), "Atanh": bump(9), "Cosh": bump(9), "Sinh": bump(9),
		"Erf": bump(9, 13), "Sign": bump(9, 13), "IsNaN": bump(9, 13, 20), "IsInf": bump(10, 20),
		"Not": bump(1), "And": bump(1, 7), "Or": bump(1, 7), "Xor": bump(1, 7),
		"Add": bump(1, 6, 7, 13, 14), "Sub": bump(1, 6, 7, 13, 14), "Mul": bump(1, 6, 7, 13, 14), "Div": bump(1, 6, 7, 13, 14),
		"Pow": bump(1, 7, 12, 13, 15),
		"Mod": bump(10, 13),
		"Min": bump(1, 6, 8, 12, 13), "Max": bump(1, 6, 8, 12, 13),
		"Sum": bump(1, 6, 8, 13), "Mean": bump(1, 6, 8, 13),
		"Equal":   bump(1, 7, 11, 13, 19),
		"Greater": bump(1, 7, 9, 13), "Less": bump(1, 7, 9, 13),
		"GreaterOrEqual": bump(12, 16), "LessOrEqual": bump(12, 16),
		"Where":     bump(9, 16),
		"PRelu":     bump(1, 6, 7, 9, 16),
		"LeakyRelu": bump(1, 6, 16),
		"Elu":       bump(1, 6), "Selu": bump(1, 6), "Celu": bump(12), "Softplus": bump(1), "Softsign": bump(1),
		"ThresholdedRelu": bump(10), "Shrink": bump(9), "Mish": bump(18),
		"HardSigmoid": bump(1, 6), "HardSwish": bump(14), "Gelu": bump(20),
		"Clip":       steps(at(1, nil), at(6, nil), at(11, (*converter).clip11), at(12, nil), at(13, nil)),
		"Softmax":    steps(at(1, nil), at(11, nil), at(13, (*converter).softmax13)),
		"LogSoftmax": steps(at(1, nil), at(11, nil), at(13, (*converter).softmax13)),
		"Hardmax":    steps(at(1, nil), at(11, nil), at(13, (*converter).softmax13)),
		"Cast":       bump(1, 6, 9, 13, 19, 21), "CastLike": bump(15, 19, 21),
		"Identity":        bump(1, 13, 14, 16, 19, 21),
		"Constant":        bump(1, 9, 11, 12, 13, 19, 21),
		"ConstantOfShape": bump(9, 20, 21),
		"Shape":           bump(1, 13, 15, 19, 21), "Size": bump(1, 13, 19, 21),
		"Concat": bump(1, 4, 11, 13),
		"Gather": bump(1, 11, 13), "GatherElements": bump(11, 13), "GatherND": bump(11, 12, 13),
		"ScatterND": bump(11, 13, 16, 18), "ScatterElements": bump(11, 13, 16, 18),
		"Flatten":   bump(1, 9, 11, 13, 21),
		"Reshape":   bump(1, 5, 13, 14, 19, 21),
		"Transpose": bump(1, 13, 21),
		"Expand":    bump(8, 13), "Tile": bump(1, 6, 13), "Range": bump(11),
		"Squeeze":    steps(at(1, nil), at(11, nil), at(13, (*converter).axesToInput), at(21, nil)),
		"Unsqueeze":  steps(at(1, nil), at(11, nil), at(13, (*converter).axesToInput), at(21, nil)),
		"Split":      steps(at(1, nil), at(2, nil), at(11, nil), at(13, (*converter).split13), at(18, (*converter).split18)),
		"Slice":      steps(at(1, nil), at(10, (*converter).slice10), at(11, nil), at(13, nil)),
		"Pad":        steps(at(1, nil), at(2, nil), at(11, (*converter).pad11), at(13, nil), at(18, nil), at(19, nil), at(21, nil)),
		"ReduceSum":  steps(at(1, nil), at(11, nil), at(13, (*converter).axesToInput)),
		"ReduceMean": reduce18(), "ReduceMin": reduce18(at(20, nil)), "ReduceMax": reduce18(at(20, nil)),
		"ReduceProd": reduce18(), "ReduceL1": reduce18(), "ReduceL2": reduce18(), "ReduceLogSum": reduce18(),
		"ReduceLogSumExp": reduce18(), "ReduceSumSquare": reduce18(),
		"ArgMax": bump(1, 11, 12, 13), "ArgMin": bump(1, 11, 12, 13),
		"TopK":   steps(at(1, nil), at(10, (*converter).topK10), at(11, nil)),
		"CumSum": bump(11, 14), "NonZero": bump(9, 13), "Trilu": bump(14), "Einsum": bump(12),
		"OneHot": bump(9, 11), "Compress": bump(9, 11),
		"Conv": bump(1, 11), "ConvTranspose": bump(1, 11), "ConvInteger": bump(10),
		"MaxPool":           bump(1, 8, 10, 11, 12),
		"AveragePool":       bump(1, 7, 10, 11, 19),
		"LpPool":            bump(1, 2, 11, 18),
		"GlobalAveragePool": bump(1), "GlobalMaxPool": bump(1), "GlobalLpPool": bump(1, 2),
		"BatchNormalization": steps(at(1, nil), at(6, nil), at(7, nil), at(9, (*converter).batchNorm9),
			at(14, (*converter).batchNorm14), at(15, nil)),
		"InstanceNormalization": bump(1, 6), "LRN": bump(1, 13),
		"LayerNormalization": bump(17), "GroupNormalization": bump(18, 21),
		"MeanVarianceNormalization": bump(1, 9, 13),
		"Dropout":                   steps(at(1, nil), at(6, nil), at(7, nil), at(10, nil), at(12, (*converter).dropout12), at(13, nil)),
		"Gemm":                      bump(1, 6, 7, 9, 11, 13),
		"MatMul":                    bump(1, 9, 13), "MatMulInteger": bump(10),
		"LSTM": bump(1, 7, 14), "GRU": bump(1, 3, 7, 14), "RNN": bump(1, 7, 14),
		"If": bump(1, 11, 13, 16, 19, 21), "Loop": bump(1, 11, 13, 16, 19, 21),
		"Scan":           steps(at(8, nil), at(9, (*converter).unsupported), at(11, nil), at(16, nil), at(19, nil), at(21, nil)),
		"QuantizeLinear": bump(10, 13, 19, 21), "DequantizeLinear": bump(10, 13, 19, 21),
		"QLinearConv": bump(10), "QLinearMatMul": bump(10, 21), "DynamicQuantizeLinear": bump(11),
		"Upsample":     steps(at(7, nil), at(9, (*converter).upsample9), at(10, (*converter).upsampleToResize)),
		"Resize":       steps(at(10, nil), at(11, (*converter).resize11), at(13, nil), at(18, nil), at(19, nil)),
		"DepthToSpace": bump(1, 11, 13), "SpaceToDepth": bump(1, 13),
		"Round": bump(11), "Det": bump(11), "BitShift": bump(11),
		"ReverseSequence": bump(10), "EyeLike": bump(9), "RandomNormal": bump(1), "RandomUniform": bump(1),
		"RandomNormalLike": bump(1), "RandomUniformLike": bump(1), "Multinomial": bump(7),
		// Added at 23.
		"RMSNormalization": bump(23), "RotaryEmbedding": bump(23), "Attention": bump(23),
	}
	for _, op := range typeOnly22 {
		opHistory[op] = append(opHistory[op], opStep{version: 22})
	}
	for _, op := range typeOnly23 {
		opHistory[op] = append(opHistory[op], opStep{version: 23})
	}
}

// typeOnly22 lists the operators whose version 22 (ONNX 1.17) only added
// bfloat16 to their type constraints.
var typeOnly22 = []string{
	"Acos", "Acosh", "Asin", "Asinh", "Atan", "Atanh", "AveragePool", "Conv", "ConvTranspose", "Cos", "Cosh",
	"Det", "Dropout", "Elu", "EyeLike", "GRU", "GlobalAveragePool", "GlobalLpPool", "GlobalMaxPool",
	"HardSigmoid", "HardSwish", "InstanceNormalization", "LSTM", "LpPool", "MaxPool", "Mish", "Multinomial",
	"RNN", "RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Round", "Selu", "Sin",
	"Sinh", "Softplus", "Softsign", "Tan", "ThresholdedRelu",
}

// typeOnly23 lists the operators whose version 23 (ONNX 1.18) only added
// float4e2m1 to their type constraints.
var typeOnly23 = []string{
	"Cast", "CastLike", "Constant", "ConstantOfShape", "DequantizeLinear", "Flatten", "Identity", "If", "Loop",
	"Pad", "QuantizeLinear", "Reshape", "Scan", "Shape", "Size", "Squeeze", "Transpose", "Unsqueeze",
}

// reduce18 is the history of the Reduce* family other than ReduceSum,
// whose axes moved from attribute to input at 18.
func reduce18(extra ...opStep) []opStep {
	return append(steps(at(1, nil), at(11, nil), at(13, nil), at(18, (*converter).axesToInput)), extra...)
}

// irForOpset is the lowest IR version that may import an opset.
func irForOpset(opset int64) int64 {
	switch {
	case opset >= 23:
		return 11
	case opset >= 21:
		return 10
	case opset >= 19:
		return 9
	case opset >= 15:
		return 8
	case opset >= 12:
		return 7
	case opset >= 11:
		return 6
	case opset >= 10:
		return 5
	case opset >= 9:
		return 4
	}
	return 3
}

// downHistory gives the down adapters of opHistory's steps: for an
// operator and a version at which its schema changed, how a node of that
// version goes back to the version before (see opset_down.go). A step
// missing here is refused on downgrade. For an operator's first version
// the adapter rewrites the node into older operators.
//
// Most steps only widened types: bfloat16 at 13 (and 16 for a few ops),
// float8 at 19, 4-bit integers at 21, integer types here and there; they
// go back when the node's values have none of the new types.
var downHistory map[string][]opStep

func init() {
	bf16 := withoutTypes(tBFloat16)
	f8 := withoutTypes(tFloat8...)
	i4 := withoutTypes(tInt4...)
	floats := onlyTypes(append([]int32{tBool}, tFloats...)...)
	unary13 := steps(at(13, bf16))
	neg := negAxisDown("axis")
	cmp := func(extra ...opStep) []opStep { return append(steps(at(13, bf16)), extra...) }
	reduce := func(extra ...opStep) []opStep {
		return append(steps(at(11, negAxisDown("axes")), at(13, bf16), at(18, inputToInts(1, "axes"))), extra...)
	}
	downHistory = map[string][]opStep{
		"Abs": unary13, "Ceil": unary13, "Floor": unary13, "Neg": unary13, "Reciprocal": unary13,
		"Sqrt": unary13, "Exp": unary13, "Log": unary13, "Sigmoid": unary13, "Tanh": unary13,
		"Erf": unary13, "Sign": unary13, "Mod": unary13, "LRN": unary13, "NonZero": unary13,
		"MeanVarianceNormalization": unary13, "Expand": unary13, "Tile": unary13, "SpaceToDepth": unary13,
		"GatherElements": unary13, "Size": steps(at(13, bf16), at(19, f8), at(21, i4)),
		"Relu":  steps(at(13, bf16), at(14, withoutTypes(tInt8, tInt16, tInt32, tInt64))),
		"IsNaN": steps(at(13, bf16), at(20, f8)), "IsInf": steps(at(20, onlyTypes(tFloat, tDouble, tBool))),
		"Add": cmp(at(14, withoutTypes(tUint8, tInt8, tUint16, tInt16))), "Sub": cmp(at(14, withoutTypes(tUint8, tInt8, tUint16, tInt16))),
		"Mul": cmp(at(14, withoutTypes(tUint8, tInt8, tUint16, tInt16))), "Div": cmp(at(14, withoutTypes(tUint8, tInt8, tUint16, tInt16))),
		"Pow": steps(at(12, (*converter).pow12Down), at(13, bf16), at(15, bf16)),
		"Min": steps(at(8, (*converter).sameShapes), at(12, floats), at(13, bf16)),
		"Max": steps(at(8, (*converter).sameShapes), at(12, floats), at(13, bf16)),
		"Sum": steps(at(8, (*converter).sameShapes), at(13, bf16)), "Mean": steps(at(8, (*converter).sameShapes), at(13, bf16)),
		"Equal":          steps(at(11, onlyTypes(tBool, tInt32, tInt64)), at(13, bf16), at(19, withoutTypes(tString))),
		"Greater":        steps(at(9, floats), at(13, bf16)),
		"Less":           steps(at(9, floats), at(13, bf16)),
		"GreaterOrEqual": steps(at(16, bf16)), "LessOrEqual": steps(at(16, bf16)),
		"Where": steps(at(16, bf16)), "LeakyRelu": steps(at(16, bf16)),
		"PRelu":      steps(at(9, floats), at(16, bf16)),
		"HardSwish":  steps(at(14, (*converter).hardSwishDown)),
		"Gelu":       steps(at(20, (*converter).geluDown)),
		"Mish":       steps(at(18, (*converter).mishDown)),
		"Clip":       steps(at(11, (*converter).clip11Down), at(12, floats), at(13, bf16)),
		"Softmax":    steps(at(13, both(bf16, (*converter).softmax13Down))),
		"LogSoftmax": steps(at(13, both(bf16, (*converter).softmax13Down))),
		"Hardmax":    steps(at(13, both(bf16, (*converter).softmax13Down))),
		"Cast":       steps(at(9, withoutTypes(tString)), at(13, bf16), at(19, both(f8, dropIntAttr("saturate", 1))), at(21, i4)),
		"CastLike":   steps(at(15, (*converter).castLikeDown), at(19, both(f8, dropIntAttr("saturate", 1))), at(21, i4)),
		// Identity-14 added sequences, 16 optionals.
		"Identity": steps(at(13, bf16), at(14, noSequences), at(16, noOptionals), at(19, f8), at(21, i4)),
		"Constant": steps(at(9, onlyTypes(tFloats...)), at(11, noAttr("sparse_value")), at(12, (*converter).constant12Down),
			at(13, bf16), at(19, f8), at(21, i4)),
		"ConstantOfShape": steps(at(20, withoutTypes(append([]int32{tBFloat16}, tFloat8...)...)), at(21, i4)),
		"Shape":           steps(at(13, bf16), at(15, (*converter).shape15Down), at(19, f8), at(21, i4)),
		"Concat":          steps(at(11, neg), at(13, bf16)),
		"GatherND":        steps(at(12, dropIntAttr("batch_dims", 0)), at(13, bf16)),
		"Gather":          steps(at(13, bf16)),
		"ScatterND":       steps(at(13, bf16), at(16, dropStringAttr("reduction", "none")), at(18, refuseString("reduction", "min", "max"))),
		"ScatterElements": steps(at(13, bf16), at(16, dropStringAttr("reduction", "none")), at(18, refuseString("reduction", "min", "max"))),
		"Flatten":         steps(at(9, onlyTypes(tFloats...)), at(11, neg), at(13, bf16), at(21, i4)),
		"Reshape":         steps(at(13, bf16), at(14, (*converter).reshape14Down), at(19, f8), at(21, i4)),
		"Transpose":       steps(at(13, bf16), at(21, i4)),
		"Squeeze":         steps(at(11, negAxisDown("axes")), at(13, inputToInts(1, "axes")), at(21, i4)),
		"Unsqueeze":       steps(at(11, negAxisDown("axes")), at(13, inputToInts(1, "axes")), at(21, i4)),
		"Split":           steps(at(11, neg), at(13, both(bf16, inputToInts(1, "split"))), at(18, (*converter).split18Down)),
		"Slice":           steps(at(10, (*converter).slice10Down), at(11, (*converter).slice11Down), at(13, bf16)),
		"Pad": steps(at(11, (*converter).pad11Down), at(13, bf16), at(18, noInput(3, "axes")),
			at(19, refuseString("mode", "wrap")), at(21, i4)),
		"ReduceSum":  steps(at(11, negAxisDown("axes")), at(13, both(bf16, inputToInts(1, "axes")))),
		"ReduceMean": reduce(), "ReduceProd": reduce(), "ReduceL1": reduce(), "ReduceL2": reduce(),
		"ReduceLogSum": reduce(), "ReduceLogSumExp": reduce(), "ReduceSumSquare": reduce(),
		"ReduceMin": reduce(at(20, withoutTypes(tBool))), "ReduceMax": reduce(at(20, withoutTypes(tBool))),
		"ArgMax": steps(at(11, neg), at(12, dropIntAttr("select_last_index", 0)), at(13, bf16)),
		"ArgMin": steps(at(11, neg), at(12, dropIntAttr("select_last_index", 0)), at(13, bf16)),
		"TopK": steps(at(10, (*converter).topK10Down),
			at(11, both(neg, dropIntAttr("largest", 1), dropIntAttr("sorted", 1)))),
		"CumSum":      steps(at(14, withoutTypes(tFloat16, tBFloat16))),
		"MaxPool":     steps(at(8, both(dropIntAttr("storage_order", 0), onlyFirstOutput)), at(10, both(dropIntAttr("ceil_mode", 0), onesAttr("dilations"))), at(12, withoutTypes(tInt8, tUint8))),
		"AveragePool": steps(at(10, dropIntAttr("ceil_mode", 0)), at(19, onesAttr("dilations"))),
		"BatchNormalization": steps(at(9, compatible), at(14, both(bf16, (*converter).batchNorm14Down)),
			at(15, (*converter).batchNorm15Down)),
		"LayerNormalization": steps(at(17, (*converter).layerNormDown)),
		"GroupNormalization": steps(at(18, (*converter).groupNormDown), at(21, (*converter).groupNormDown)),
		// Dropout changes at 10, 12 and 13 are all about training; at
		// inference it is Identity.
		"Dropout": steps(at(10, (*converter).dropoutToIdentity), at(12, (*converter).dropoutToIdentity),
			at(13, (*converter).dropoutToIdentity)),
		"Gemm":   steps(at(9, onlyTypes(tFloats...)), at(11, (*converter).gemm11Down), at(13, bf16)),
		"MatMul": steps(at(9, onlyTypes(tFloats...)), at(13, bf16)),
		// The recurrent ops' 14 added layout (batch-major when 1).
		"LSTM": steps(at(14, dropIntAttr("layout", 0))), "GRU": steps(at(14, dropIntAttr("layout", 0))),
		"RNN": steps(at(14, dropIntAttr("layout", 0))),
		// If and Loop at 11 relaxed their body outputs' shapes; 13 added
		// sequences and 16 optionals as values.
		"If":   steps(at(11, compatible), at(13, noSequences), at(16, noOptionals), at(19, f8), at(21, i4)),
		"Loop": steps(at(11, compatible), at(13, noSequences), at(16, noOptionals), at(19, f8), at(21, i4)),
		"QuantizeLinear": steps(at(13, (*converter).quantize13Down),
			at(19, both(withoutTypes(append([]int32{tFloat16, tBFloat16}, tFloat8...)...), dropIntAttr("saturate", 1))),
			at(21, both((*converter).quantize21Down, withoutTypes(append([]int32{tInt16, tUint16}, tInt4...)...)))),
		"DequantizeLinear": steps(at(13, (*converter).quantize13Down),
			at(19, withoutTypes(append([]int32{tFloat16, tBFloat16}, tFloat8...)...)),
			at(21, both((*converter).quantize21Down, withoutTypes(append([]int32{tInt16, tUint16}, tInt4...)...)))),
		"QLinearMatMul": steps(at(21, withoutTypes(append([]int32{tFloat16, tBFloat16}, tFloat8...)...))),
		"Resize": steps(at(13, both(bf16, (*converter).resize13Down)),
			at(18, both(dropIntAttr("antialias", 0), noAttr("axes"), dropStringAttr("keep_aspect_ratio_policy", "stretch"))),
			at(19, refuseString("coordinate_transformation_mode", "half_pixel_symmetric"))),
		"DepthToSpace":     steps(at(11, dropStringAttr("mode", "DCR")), at(13, bf16)),
		"RMSNormalization": steps(at(23, (*converter).rmsNormDown)),
		"RotaryEmbedding":  steps(at(23, (*converter).rotaryEmbeddingDown)),
		"Attention":        steps(at(23, (*converter).attentionDown)),
	}
	f4 := withoutTypes(tFloat4)
	for _, op := range typeOnly22 {
		downHistory[op] = append(downHistory[op], at(22, bf16))
	}
	for _, op := range typeOnly23 {
		downHistory[op] = append(downHistory[op], at(23, f4))
	}
}
