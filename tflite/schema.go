package tflite

import "fmt"

// Identifier is the flatbuffer file identifier of TFLite models.
const Identifier = "TFL3"

// SchemaVersion is the Model.version the writer records.
const SchemaVersion = 3

// TensorType is the TFLite element type (schema enum TensorType).
type TensorType int8

// The element types the exporter produces.
const (
	Float32 TensorType = 0
	Int32   TensorType = 2
	Uint8   TensorType = 3
	Int64   TensorType = 4
	Bool    TensorType = 6
	Int16   TensorType = 7
	Int8    TensorType = 9
)

var tensorTypeNames = map[TensorType]string{
	Float32: "FLOAT32", Int32: "INT32", Uint8: "UINT8", Int64: "INT64", Bool: "BOOL", Int16: "INT16", Int8: "INT8",
}

func (t TensorType) String() string {
	if s, ok := tensorTypeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("TensorType(%d)", int8(t))
}

// Size is the byte size of one element, 0 for an unknown type.
func (t TensorType) Size() int {
	switch t {
	case Float32, Int32:
		return 4
	case Int64:
		return 8
	case Int16:
		return 2
	case Uint8, Int8, Bool:
		return 1
	}
	return 0
}

// BuiltinOp is a TFLite builtin operator code (schema enum BuiltinOperator).
type BuiltinOp int32

// The builtin operators the exporter emits or the reader names.
const (
	OpAdd                   BuiltinOp = 0
	OpAveragePool2D         BuiltinOp = 1
	OpConcatenation         BuiltinOp = 2
	OpConv2D                BuiltinOp = 3
	OpDepthwiseConv2D       BuiltinOp = 4
	OpDepthToSpace          BuiltinOp = 5
	OpDequantize            BuiltinOp = 6
	OpFullyConnected        BuiltinOp = 9
	OpLogistic              BuiltinOp = 14
	OpMaxPool2D             BuiltinOp = 17
	OpMul                   BuiltinOp = 18
	OpRelu                  BuiltinOp = 19
	OpReluN1To1             BuiltinOp = 20
	OpRelu6                 BuiltinOp = 21
	OpReshape               BuiltinOp = 22
	OpResizeBilinear        BuiltinOp = 23
	OpSoftmax               BuiltinOp = 25
	OpSpaceToDepth          BuiltinOp = 26
	OpTanh                  BuiltinOp = 28
	OpPad                   BuiltinOp = 34
	OpPadV2                 BuiltinOp = 60
	OpRelu0To1              BuiltinOp = 152
	OpReduceMin             BuiltinOp = 89
	OpTranspose             BuiltinOp = 39
	OpMean                  BuiltinOp = 40
	OpSub                   BuiltinOp = 41
	OpDiv                   BuiltinOp = 42
	OpSqueeze               BuiltinOp = 43
	OpStridedSlice          BuiltinOp = 45
	OpExp                   BuiltinOp = 47
	OpSplit                 BuiltinOp = 49
	OpPrelu                 BuiltinOp = 54
	OpMaximum               BuiltinOp = 55
	OpMinimum               BuiltinOp = 57
	OpSlice                 BuiltinOp = 65
	OpTransposeConv         BuiltinOp = 67
	OpLog                   BuiltinOp = 73
	OpSum                   BuiltinOp = 74
	OpRsqrt                 BuiltinOp = 76
	OpReduceMax             BuiltinOp = 82
	OpPack                  BuiltinOp = 83
	OpResizeNearestNeighbor BuiltinOp = 97
	OpLeakyRelu             BuiltinOp = 98
	OpSquaredDifference     BuiltinOp = 99
	OpAbs                   BuiltinOp = 101
	OpSplitV                BuiltinOp = 102
	OpQuantize              BuiltinOp = 114
	OpHardSwish             BuiltinOp = 117
	OpIf                    BuiltinOp = 118
	OpWhile                 BuiltinOp = 119
	OpBatchMatMul           BuiltinOp = 126
	OpGelu                  BuiltinOp = 150
	OpNeg                   BuiltinOp = 59
	OpReverseV2             BuiltinOp = 105
	OpMirrorPad             BuiltinOp = 100
)

var builtinOpNames = map[BuiltinOp]string{
	OpAdd: "ADD", OpAveragePool2D: "AVERAGE_POOL_2D", OpConcatenation: "CONCATENATION", OpConv2D: "CONV_2D",
	OpDepthwiseConv2D: "DEPTHWISE_CONV_2D", OpDepthToSpace: "DEPTH_TO_SPACE", OpDequantize: "DEQUANTIZE",
	OpFullyConnected: "FULLY_CONNECTED", OpLogistic: "LOGISTIC", OpMaxPool2D: "MAX_POOL_2D", OpMul: "MUL",
	OpRelu: "RELU", OpReluN1To1: "RELU_N1_TO_1", OpRelu6: "RELU6", OpReshape: "RESHAPE",
	OpResizeBilinear: "RESIZE_BILINEAR", OpSoftmax: "SOFTMAX", OpSpaceToDepth: "SPACE_TO_DEPTH", OpTanh: "TANH",
	OpPad: "PAD", OpPadV2: "PADV2", OpRelu0To1: "RELU_0_TO_1", OpReduceMin: "REDUCE_MIN", OpTranspose: "TRANSPOSE", OpMean: "MEAN", OpSub: "SUB", OpDiv: "DIV", OpSqueeze: "SQUEEZE",
	OpStridedSlice: "STRIDED_SLICE", OpExp: "EXP", OpSplit: "SPLIT", OpPrelu: "PRELU", OpMaximum: "MAXIMUM",
	OpMinimum: "MINIMUM", OpSlice: "SLICE", OpTransposeConv: "TRANSPOSE_CONV", OpLog: "LOG", OpSum: "SUM",
	OpRsqrt: "RSQRT", OpReduceMax: "REDUCE_MAX", OpPack: "PACK", OpResizeNearestNeighbor: "RESIZE_NEAREST_NEIGHBOR",
	OpLeakyRelu: "LEAKY_RELU", OpSquaredDifference: "SQUARED_DIFFERENCE", OpAbs: "ABS", OpSplitV: "SPLIT_V",
	OpQuantize: "QUANTIZE", OpHardSwish: "HARD_SWISH", OpIf: "IF", OpWhile: "WHILE", OpBatchMatMul: "BATCH_MATMUL",
	OpGelu: "GELU", OpNeg: "NEG", OpReverseV2: "REVERSE_V2", OpMirrorPad: "MIRROR_PAD",
}

func (op BuiltinOp) String() string {
	if s, ok := builtinOpNames[op]; ok {
		return s
	}
	return fmt.Sprintf("BUILTIN(%d)", int32(op))
}

// placeholderForGreaterOpCodes is the largest code that also fits the
// deprecated byte field of OperatorCode.
const placeholderForGreaterOpCodes = 127

// Activation is a fused activation function (schema enum
// ActivationFunctionType).
type Activation int8

// Fused activations.
const (
	ActNone      Activation = 0
	ActRelu      Activation = 1
	ActReluN1To1 Activation = 2
	ActRelu6     Activation = 3
)

// Padding is the schema enum Padding.
type Padding int8

// Paddings.
const (
	PaddingSame  Padding = 0
	PaddingValid Padding = 1
)

// OptionsType is the tag of the BuiltinOptions union.
type OptionsType uint8

// The option tables the exporter writes.
const (
	OptNone                  OptionsType = 0
	OptConv2D                OptionsType = 1
	OptDepthwiseConv2D       OptionsType = 2
	OptPool2D                OptionsType = 5
	OptFullyConnected        OptionsType = 8
	OptSoftmax               OptionsType = 9
	OptConcatenation         OptionsType = 10
	OptAdd                   OptionsType = 11
	OptResizeBilinear        OptionsType = 15
	OptReshape               OptionsType = 17
	OptSpaceToDepth          OptionsType = 19
	OptMul                   OptionsType = 21
	OptPad                   OptionsType = 22
	OptPadV2                 OptionsType = 43
	OptTranspose             OptionsType = 26
	OptReducer               OptionsType = 27
	OptSub                   OptionsType = 28
	OptDiv                   OptionsType = 29
	OptSqueeze               OptionsType = 30
	OptStridedSlice          OptionsType = 32
	OptSplit                 OptionsType = 35
	OptDequantize            OptionsType = 38
	OptMaximumMinimum        OptionsType = 39
	OptSlice                 OptionsType = 48
	OptTransposeConv         OptionsType = 49
	OptPack                  OptionsType = 59
	OptResizeNearestNeighbor OptionsType = 74
	OptLeakyRelu             OptionsType = 75
	OptMirrorPad             OptionsType = 77
	OptSplitV                OptionsType = 79
	OptQuantize              OptionsType = 89
	OptHardSwish             OptionsType = 91
	OptDepthToSpace          OptionsType = 94
	OptBatchMatMul           OptionsType = 101
)

// fieldKind is the scalar or vector type of one option-table field.
type fieldKind uint8

const (
	kByte fieldKind = iota // also bool and byte enums
	kInt32
	kFloat32
	kInt32Vector
)

// fieldSpec is one field of an option table: its kind and schema default.
type fieldSpec struct {
	kind fieldKind
	def  int64
}

// optionTables gives, for each option table the package knows, its fields
// in slot order, as in the schema.
var optionTables = map[OptionsType][]fieldSpec{
	OptNone: nil,
	// padding, stride_w, stride_h, fused_activation_function, dilation_w_factor, dilation_h_factor, quantized_bias_type
	OptConv2D: {{kByte, 0}, {kInt32, 0}, {kInt32, 0}, {kByte, 0}, {kInt32, 1}, {kInt32, 1}, {kByte, 0}},
	// padding, stride_w, stride_h, depth_multiplier, fused_activation_function, dilation_w_factor, dilation_h_factor
	OptDepthwiseConv2D: {{kByte, 0}, {kInt32, 0}, {kInt32, 0}, {kInt32, 0}, {kByte, 0}, {kInt32, 1}, {kInt32, 1}},
	// padding, stride_w, stride_h, filter_width, filter_height, fused_activation_function
	OptPool2D: {{kByte, 0}, {kInt32, 0}, {kInt32, 0}, {kInt32, 0}, {kInt32, 0}, {kByte, 0}},
	// fused_activation_function, weights_format, keep_num_dims, asymmetric_quantize_inputs, quantized_bias_type
	OptFullyConnected: {{kByte, 0}, {kByte, 0}, {kByte, 0}, {kByte, 0}, {kByte, 0}},
	OptSoftmax:        {{kFloat32, 0}},           // beta
	OptConcatenation:  {{kInt32, 0}, {kByte, 0}}, // axis, fused_activation_function
	OptAdd:            {{kByte, 0}, {kByte, 1}},  // fused_activation_function, pot_scale_int16
	OptResizeBilinear: {{kInt32, 0}, {kInt32, 0}, {kByte, 0}, {kByte, 0}},
	OptReshape:        {{kInt32Vector, 0}}, // new_shape
	OptSpaceToDepth:   {{kInt32, 0}},       // block_size
	OptMul:            {{kByte, 0}},
	OptPad:            nil,
	OptPadV2:          nil,
	OptTranspose:      nil,
	OptReducer:        {{kByte, 0}},             // keep_dims
	OptSub:            {{kByte, 0}, {kByte, 1}}, // fused_activation_function, pot_scale_int16
	OptDiv:            {{kByte, 0}},
	OptSqueeze:        {{kInt32Vector, 0}},
	// begin_mask, end_mask, ellipsis_mask, new_axis_mask, shrink_axis_mask, offset
	OptStridedSlice:          {{kInt32, 0}, {kInt32, 0}, {kInt32, 0}, {kInt32, 0}, {kInt32, 0}, {kByte, 0}},
	OptSplit:                 {{kInt32, 0}}, // num_splits
	OptDequantize:            nil,
	OptMaximumMinimum:        nil,
	OptSlice:                 nil,
	OptTransposeConv:         {{kByte, 0}, {kInt32, 0}, {kInt32, 0}, {kByte, 0}, {kByte, 0}},
	OptPack:                  {{kInt32, 0}, {kInt32, 0}}, // values_count, axis
	OptResizeNearestNeighbor: {{kByte, 0}, {kByte, 0}},   // align_corners, half_pixel_centers
	OptLeakyRelu:             {{kFloat32, 0}},            // alpha
	OptMirrorPad:             {{kByte, 0}},               // mode: REFLECT 0, SYMMETRIC 1
	OptSplitV:                {{kInt32, 0}},
	OptQuantize:              nil,
	OptHardSwish:             nil,
	OptDepthToSpace:          {{kInt32, 0}},
	OptBatchMatMul:           {{kByte, 0}, {kByte, 0}, {kByte, 0}},
}

// Options is one BuiltinOptions table: its union tag and its field values
// in slot order (a missing trailing field takes the schema default).
type Options struct {
	Type OptionsType
	// Ints holds byte, bool and int32 fields, Floats float32 fields and
	// Vectors int32-vector fields, each indexed by slot.
	Ints    map[int]int64
	Floats  map[int]float32
	Vectors map[int][]int32
}

// Int returns the integer field at slot, or its schema default.
func (o *Options) Int(slot int) int64 {
	if o != nil {
		if v, ok := o.Ints[slot]; ok {
			return v
		}
		if f := optionTables[o.Type]; slot < len(f) {
			return f[slot].def
		}
	}
	return 0
}

// Float returns the float field at slot (0 when absent).
func (o *Options) Float(slot int) float32 {
	if o == nil {
		return 0
	}
	return o.Floats[slot]
}

// Vector returns the int32 vector field at slot.
func (o *Options) Vector(slot int) []int32 {
	if o == nil {
		return nil
	}
	return o.Vectors[slot]
}

// newOptions makes an option table of type t from integer field values in
// slot order.
func newOptions(t OptionsType, ints ...int64) *Options {
	o := &Options{Type: t, Ints: map[int]int64{}}
	for i, v := range ints {
		o.Ints[i] = v
	}
	return o
}

// Option-table slots the exporter and the checks read.
const (
	slotConvPadding   = 0
	slotConvStrideW   = 1
	slotConvStrideH   = 2
	slotConvAct       = 3
	slotDWMultiplier  = 3
	slotDWAct         = 4
	slotPoolFilterW   = 3
	slotPoolFilterH   = 4
	slotFCKeepNumDims = 2
)
