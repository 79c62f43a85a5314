package tflite

// opVersions gives the operator-code version TensorFlow's op versioning
// assigns for int8 and for int16 (16x8) operands.
var opVersions = map[BuiltinOp][2]int32{
	OpConv2D: {3, 4}, OpTransposeConv: {3, 3}, OpDepthwiseConv2D: {3, 5}, OpFullyConnected: {4, 7}, OpAdd: {2, 3}, OpSub: {2, 3},
	OpMul: {2, 4}, OpMaxPool2D: {2, 3}, OpAveragePool2D: {2, 3}, OpConcatenation: {2, 3}, OpQuantize: {2, 3},
	OpDequantize: {2, 4}, OpLogistic: {2, 3}, OpTanh: {2, 3}, OpSoftmax: {2, 3}, OpMean: {2, 3},
	OpLeakyRelu: {1, 2}, OpMaximum: {2, 4}, OpMinimum: {2, 4}, OpPad: {2, 4}, OpPadV2: {2, 4},
	OpResizeNearestNeighbor: {2, 4}, OpResizeBilinear: {2, 4}, OpTranspose: {2, 5}, OpRelu: {2, 3},
	OpRelu6: {2, 3}, OpReluN1To1: {2, 3}, OpBatchMatMul: {1, 3}, OpHardSwish: {1, 1}, OpReshape: {1, 1},
}

// setVersions fills each operator's version from the type of its first
// input.
func (m *Model) setVersions() {
	for _, op := range m.Operators {
		v, ok := opVersions[op.Op]
		if !ok {
			op.Version = 1
			continue
		}
		op.Version = v[0]
		if len(op.Inputs) > 0 && op.Inputs[0] >= 0 && m.Tensors[op.Inputs[0]].Type == Int16 {
			op.Version = v[1]
		}
		if op.Op == OpFullyConnected && op.Options.Int(slotFCKeepNumDims) != 0 && op.Version < 5 {
			op.Version = 5
		}
		if op.Op == OpQuantize && m.Tensors[op.Inputs[0]].Type == Float32 && m.Tensors[op.Outputs[0]].Type == Uint8 {
			op.Version = 1
		}
	}
}
