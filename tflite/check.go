package tflite

import (
	"errors"
	"fmt"
	"strings"
)

// ErrCPU is wrapped by Check's error: operators Vela would leave on the
// CPU.
var ErrCPU = errors.New("operators Vela would run on the CPU")

// CheckError lists every operator that breaks a rule.
type CheckError struct {
	Target   string
	Problems []string
}

func (e *CheckError) Error() string {
	return fmt.Sprintf("%d operator(s) would not run on the %s NPU:\n  %s", len(e.Problems), e.Target, strings.Join(e.Problems, "\n  "))
}

func (e *CheckError) Unwrap() error { return ErrCPU }

// npuOps are the TFLite builtins Vela 5.1 places on the NPU for U55/U65;
// U85 adds more (its SUPPORTED_OPS tables).
var npuOps = map[BuiltinOp]bool{
	OpAbs: true, OpAdd: true, OpAveragePool2D: true, OpBatchMatMul: true, OpConcatenation: true, OpConv2D: true,
	OpDepthwiseConv2D: true, OpExp: true, OpFullyConnected: true, OpHardSwish: true, OpLeakyRelu: true, OpLog: true,
	OpLogistic: true, OpMaximum: true, OpMaxPool2D: true, OpMean: true, OpMinimum: true, OpMul: true, OpPack: true,
	OpPad: true, OpPadV2: true, OpPrelu: true, OpQuantize: true, OpReduceMax: true, OpReduceMin: true, OpRelu: true,
	OpRelu6: true, OpRelu0To1: true, OpReluN1To1: true, OpReshape: true, OpResizeBilinear: true,
	OpResizeNearestNeighbor: true, OpRsqrt: true, OpSlice: true, OpSoftmax: true, OpSplit: true, OpSplitV: true,
	OpSquaredDifference: true, OpSqueeze: true, OpStridedSlice: true, OpSub: true, OpSum: true, OpTanh: true,
	OpTranspose: true, OpTransposeConv: true, OpNeg: true, OpReverseV2: true, OpMirrorPad: true,
}

var npuOpsU85 = map[BuiltinOp]bool{OpDiv: true, OpGelu: false}

var perAxisOps = map[BuiltinOp]bool{OpConv2D: true, OpDepthwiseConv2D: true, OpFullyConnected: true, OpTransposeConv: true}

// Check applies Vela's TFLite rules for target (the generic constraints
// and the conv-like ones the exporter can break) to every operator; the
// float QUANTIZE/DEQUANTIZE of a --float-io copy are allowed at the edges.
func Check(m *Model, target string) error {
	u85 := strings.HasPrefix(target, "ethos-u85")
	biasLimit := int64(1) << 40
	if u85 {
		biasLimit = int64(1) << 48
	}
	var problems []string
	add := func(i int, op *Operator, format string, args ...any) {
		name := ""
		if len(op.Outputs) > 0 {
			name = m.Tensors[op.Outputs[0]].Name
		}
		problems = append(problems, fmt.Sprintf("operator %d %s (output %q): %s", i, op.Op, name, fmt.Sprintf(format, args...)))
	}
	for i, op := range m.Operators {
		if !npuOps[op.Op] && !(u85 && npuOpsU85[op.Op]) {
			edge := (op.Op == OpQuantize && m.Tensors[op.Inputs[0]].Type == Float32) ||
				(op.Op == OpDequantize && m.Tensors[op.Outputs[0]].Type == Float32)
			if !edge {
				add(i, op, "not an NPU operator for %s", target)
			}
			continue
		}
		if op.Op == OpQuantize && m.Tensors[op.Inputs[0]].Type == Float32 {
			continue
		}
		for j, ti := range append(append([]int(nil), op.Inputs...), op.Outputs...) {
			if ti < 0 {
				continue
			}
			t := m.Tensors[ti]
			isWeight := j == 1 && perAxisOps[op.Op]
			biasAt := 2
			if op.Op == OpTransposeConv {
				biasAt = 3
			}
			isBias := j == biasAt && perAxisOps[op.Op] && j < len(op.Inputs)
			if t.Quant == nil {
				if t.Type != Int32 || t.Data == nil { // shape and axis operands are plain int32
					add(i, op, "tensor %q has no quantization", t.Name)
				}
				continue
			}
			if t.Quant.PerAxis() && !isWeight && !isBias {
				add(i, op, "tensor %q is per-axis quantized; Vela allows that only on the weights and bias of CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV", t.Name)
			}
			for _, s := range t.Quant.Scale {
				if !(s > 0) {
					add(i, op, "tensor %q has scale %g", t.Name, s)
					break
				}
			}
			switch {
			case isWeight:
				if t.Type != Int8 {
					add(i, op, "weights %q are %s, Vela needs 8-bit", t.Name, t.Type)
				}
				for _, z := range t.Quant.ZeroPoint {
					if z != 0 {
						add(i, op, "weights %q have zero point %d, Vela needs symmetric weights", t.Name, z)
						break
					}
				}
			case isBias:
				if t.Data == nil {
					add(i, op, "bias %q is not constant", t.Name)
				}
				if t.Type == Int64 {
					for _, v := range decodeInts(t) {
						if v >= biasLimit || v <= -biasLimit {
							add(i, op, "bias %q value %d is beyond ±2^%d, the limit on %s", t.Name, v, map[bool]int{false: 40, true: 48}[u85], target)
							break
						}
					}
				}
			default:
				if t.Type == Int16 && t.Quant.ZeroPoint[0] != 0 {
					add(i, op, "int16 tensor %q has zero point %d; Vela needs symmetric int16", t.Name, t.Quant.ZeroPoint[0])
				}
				if t.Type == Int32 && t.Quant.ZeroPoint[0] != 0 {
					add(i, op, "int32 tensor %q has zero point %d", t.Name, t.Quant.ZeroPoint[0])
				}
			}
		}
	}
	for i, op := range m.Operators {
		for _, p := range geometryProblems(m, op) {
			add(i, op, "%s", p)
		}
	}
	if len(problems) > 0 {
		return &CheckError{Target: target, Problems: problems}
	}
	return nil
}

// maxWeightSum is Vela's bound on the sum of |w| of one output channel of
// an 8-bit-input conv-like operator (127 × 65536).
const maxWeightSum = 127 * 65536

// geometryProblems applies Vela's stride, kernel and weight-sum rules for
// the operators whose geometry the exporter chooses.
func geometryProblems(m *Model, op *Operator) []string {
	var out []string
	o := op.Options
	switch op.Op {
	case OpConv2D, OpMaxPool2D, OpAveragePool2D:
		sw, sh := o.Int(slotConvStrideW), o.Int(slotConvStrideH)
		dilated := op.Op == OpConv2D && (o.Int(4) != 1 || o.Int(5) != 1)
		if (sw > 3 || sh > 3) && (dilated || o.Int(slotConvPadding) != int64(PaddingValid)) {
			out = append(out, fmt.Sprintf("stride %dx%d above 3 needs VALID padding and no dilation", sw, sh))
		}
		if op.Op != OpConv2D {
			kw, kh := o.Int(slotPoolFilterW), o.Int(slotPoolFilterH)
			if kw*kh > 256*256 || kh > 256 {
				out = append(out, fmt.Sprintf("pooling kernel %dx%d is beyond 65536 elements or 256 rows", kw, kh))
			}
		}
	case OpDepthwiseConv2D:
		if sw, sh := o.Int(slotConvStrideW), o.Int(slotConvStrideH); sw > 3 || sh > 3 || sw < 1 || sh < 1 {
			out = append(out, fmt.Sprintf("depthwise stride %dx%d outside 1..3", sw, sh))
		}
	case OpTransposeConv:
		sw, sh := o.Int(slotConvStrideW), o.Int(slotConvStrideH)
		if !(sw == sh && (sw == 1 || sw == 2)) {
			out = append(out, fmt.Sprintf("transposed-convolution stride %dx%d (Vela takes 1x1 and 2x2)", sw, sh))
		}
	}
	if perAxisOps[op.Op] && len(op.Inputs) > 1 && m.Tensors[op.Inputs[0]].Type != Int16 {
		w := m.Tensors[op.Inputs[1]]
		if w.Data != nil && w.Type == Int8 && len(w.Shape) > 0 {
			axis := 0
			if op.Op == OpDepthwiseConv2D {
				axis = len(w.Shape) - 1
			}
			sums := make([]int64, w.Shape[axis])
			inner := 1
			for _, d := range w.Shape[axis+1:] {
				inner *= int(d)
			}
			for i, b := range w.Data {
				v := int64(int8(b))
				if v < 0 {
					v = -v
				}
				sums[(i/inner)%len(sums)] += v
			}
			for ch, s := range sums {
				if s > maxWeightSum {
					out = append(out, fmt.Sprintf("output channel %d: sum of |weights| %d is beyond Vela's %d", ch, s, maxWeightSum))
					break
				}
			}
		}
	}
	return out
}

// decodeInts reads an integer constant's elements.
func decodeInts(t *Tensor) []int64 {
	n := len(t.Data) / max(t.Type.Size(), 1)
	out := make([]int64, n)
	for i := range out {
		var v uint64
		for b := t.Type.Size() - 1; b >= 0; b-- {
			v = v<<8 | uint64(t.Data[i*t.Type.Size()+b])
		}
		shift := 64 - 8*t.Type.Size()
		out[i] = int64(v<<shift) >> shift
	}
	return out
}
