package ethosu

import (
	"fmt"
	"maps"
	"slices"

	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
	"github.com/onnxquant/onnxquant/qpass"
)

// tableOps become TOSA TABLE lookups: int8 only on U55/U65.
func tableOps() map[string]bool {
	return set("Sigmoid", "Tanh", "Exp", "Log", "Erf", "Reciprocal", "HardSigmoid", "HardSwish", "Sin", "Cos", "Tan",
		"Atan", "Asin", "Acos", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "Floor", "Ceil", "Round", "Sqrt", "Pow", "Gelu",
		"Elu", "Selu", "Celu", "LeakyRelu", "Softplus")
}

// npuOps are the ONNX ops, between DequantizeLinear and QuantizeLinear,
// that map to a TOSA operator on every Ethos-U (../shared/docs/ethosu-ops.md §3).
func npuOps() map[string]bool {
	ops := set("Conv", "ConvTranspose", "Gemm", "MatMul", "Add", "Sub", "Mul", "Abs", "Neg", "Max", "Min", "Relu", "Clip",
		"MaxPool", "AveragePool", "GlobalAveragePool", "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ArgMax",
		"Concat", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Slice", "Split", "Pad", "Resize", "Tile",
		"Expand", "DepthToSpace", "SpaceToDepth", "Identity", "Cast", "Gather", "CumSum", "PRelu", "Dropout", "Softmax", "LogSoftmax")
	for op := range tableOps() {
		ops[op] = true
	}
	return ops
}

// u85OnlyOps compile on U85 but are rejected for the +u55 subset.
func u85OnlyOps() map[string]bool {
	return set("Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual", "Where", "And", "Or", "Xor", "Not",
		"GatherElements", "GatherND", "ScatterND", "ScatterElements")
}

// SupportedOps lists the ONNX op types the target runs between
// DequantizeLinear and QuantizeLinear, sorted.
func (s CompileSpec) SupportedOps() []string {
	ops := npuOps()
	if s.Limits().ComparisonOps {
		maps.Copy(ops, u85OnlyOps())
	}
	return slices.Sorted(maps.Keys(ops))
}

func set(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

// Check judges every node of a QDQ model against the target's rules.
func Check(gm *lower.GraphModule, spec CompileSpec) *Report {
	return check(gm, spec, true)
}

// CheckOperators judges the operators of a float model (after the
// transform passes) against the rules that do not depend on quantization:
// operator support, attributes, kernel sizes and ranks. The quantizer runs
// it before calibration, so a model the target can never run fails at
// once, and with every offending node listed, even when the calibration
// interpreter could not run it either (NonMaxSuppression).
func CheckOperators(gm *lower.GraphModule, spec CompileSpec) *Report {
	return check(gm, spec, false)
}

func check(gm *lower.GraphModule, spec CompileSpec, qdq bool) *Report {
	r := &Report{Target: spec.Target}
	c := &checker{spec: spec, lim: spec.Limits(), npu: npuOps(), u85: u85OnlyOps(), table: tableOps(), rules: Rules(), quantizedModel: qdq}
	_ = gm.Walk(func(m *lower.GraphModule) error {
		control := qpass.ControlValues(m.Graph)
		for _, n := range m.Graph.Nodes {
			if err := m.Interrupted(); err != nil {
				// The report is cut short; the caller sees the
				// interrupt where it polls the same context.
				return err
			}
			if n.Op != lower.CallFunction && n.Op != lower.CallModule {
				continue
			}
			v := Verdict{Node: n.Meta.SourceName, Op: n.Target.OpType, Module: n.Meta.Module(), Submodule: m.Name, Placement: OnNPU, Legal: true}
			if v.Node == "" {
				v.Node = n.Name
			}
			c.judge(n, classify(n, control), &v)
			r.Nodes = append(r.Nodes, v)
		}
		return nil
	})
	return r
}

type checker struct {
	spec            CompileSpec
	lim             Limits
	npu, u85, table map[string]bool
	rules           []Rule
	// qdq: the model is quantized, so Q/DQ placement is checked too.
	quantizedModel bool
}

// NodeClass sorts the nodes of a model by what the target does with them.
type NodeClass int

// The classes, each with its placement.
const (
	// AnyNode is not a class of its own: a rule on AnyNode judges all.
	AnyNode NodeClass = iota
	// BoundaryNode: QuantizeLinear/DequantizeLinear, folded by the compiler.
	BoundaryNode
	// ControlFlowNode: If, Loop, Scan.
	ControlFlowNode
	// ControlValueNode computes only what steers control flow.
	ControlValueNode
	// ConstantNode: a Constant the compiler folds.
	ConstantNode
	// ComputeNode: everything the NPU computes.
	ComputeNode
)

func classify(n *lower.Node, control map[*lower.Value]bool) NodeClass {
	switch op := n.Target.OpType; {
	case op == "QuantizeLinear" || op == "DequantizeLinear":
		return BoundaryNode
	case op == "If" || op == "Loop" || op == "Scan":
		return ControlFlowNode
	case qpass.IsControlNode(n, control):
		return ControlValueNode
	case op == "Constant":
		return ConstantNode
	}
	return ComputeNode
}

// judge places n and applies the first rule it breaks.
func (c *checker) judge(n *lower.Node, class NodeClass, v *Verdict) {
	switch class {
	case BoundaryNode:
		v.Placement = Boundary
	case ControlFlowNode:
		if !c.lim.ControlFlowOnNPU {
			v.Placement = OnHost
		}
	case ControlValueNode:
		// Conditions and trip counts are never quantized
		// (qpass.ControlValues): the host evaluates them exactly.
		v.Placement = OnHost
	}
	for _, r := range c.rules {
		if r.On != AnyNode && r.On != class || r.Ops != nil && !r.Ops[n.Target.OpType] || r.QuantizedOnly && !c.quantizedModel {
			continue
		}
		if msg := r.Check(c, n); msg != "" {
			v.Legal, v.Rule, v.RuleName = false, msg, r.Name
			return
		}
	}
}

// quantized checks that a compute node reads float tensors only through
// DequantizeLinear and writes them only to QuantizeLinear (a Relu or Clip
// fused into the op before it counts as part of that op).
func (c *checker) quantized(n *lower.Node) string {
	for i, in := range n.Inputs {
		if in == nil || in.DType != int32(onnxpb.TensorProto_FLOAT) || isConstantTensor(in) && !dataInput(n, i) {
			continue
		}
		p := source(in).Producer
		if p.Op == lower.CallFunction && p.Target.OpType == "DequantizeLinear" {
			continue
		}
		if fusedPair(p, n) {
			continue
		}
		return fmt.Sprintf("float input %q is not quantized (no DequantizeLinear before it)", in.Name)
	}
	for _, out := range n.Outputs {
		if out == nil || out.DType != int32(onnxpb.TensorProto_FLOAT) {
			continue
		}
		for _, u := range n.Graph().Users(out) {
			if u.Op == lower.CallFunction && (u.Target.OpType == "QuantizeLinear" || fusedPair(n, u)) {
				continue
			}
			return fmt.Sprintf("float output %q is not quantized (read by %q without QuantizeLinear)", out.Name, u.Meta.SourceName)
		}
	}
	return ""
}

// dataInput tells the activation inputs of an op from its parameters
// (shapes, pads, clip bounds, resize scales, which stay constant).
func dataInput(n *lower.Node, i int) bool {
	switch n.Target.OpType {
	case "Pow":
		return i == 0 || !isConstantTensor(n.Inputs[i])
	case "Clip", "Pad", "Reshape", "Resize", "Slice", "Split", "Squeeze", "Unsqueeze", "Tile", "Expand", "Gather", "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin":
		return i == 0
	}
	return true
}

// source follows body captures to the outer value they stand for, so a
// body reading a dequantized outer tensor counts as quantized.
func source(v *lower.Value) *lower.Value { return v.Source() }

// isConstantTensor reports whether v carries data fixed in the file (an
// initializer, overridable or not, or a Constant node's output), so it
// needs no DequantizeLinear.
func isConstantTensor(v *lower.Value) bool {
	_, _, fixed := v.Constant()
	return fixed || v.IsInitializer(lower.EnclosingGraphs)
}

// fusedPair reports a Conv/Gemm/MatMul output read directly by the Relu or
// Clip fused into it.
func fusedPair(producer, consumer *lower.Node) bool {
	if producer == nil || consumer == nil || producer.Op != lower.CallFunction || consumer.Op != lower.CallFunction {
		return false
	}
	switch producer.Target.OpType {
	case "Conv", "ConvTranspose", "Gemm", "MatMul":
	default:
		return false
	}
	return consumer.Target.OpType == "Relu" || consumer.Target.OpType == "Clip"
}

// qdq checks the dtypes and granularity of quantize/dequantize nodes.
func (c *checker) qdq(n *lower.Node) string {
	var q *lower.Value
	if n.Target.OpType == "QuantizeLinear" {
		q = n.Outputs[0]
	} else {
		q = n.Inputs[0]
	}
	if q == nil {
		return ""
	}
	switch onnxpb.TensorProto_DataType(q.DType) {
	case onnxpb.TensorProto_INT8, onnxpb.TensorProto_INT16:
	case onnxpb.TensorProto_INT32:
		if n.Target.OpType == "QuantizeLinear" || !isConstantTensor(q) {
			return "int32 is only allowed for constant biases"
		}
	case onnxpb.TensorProto_UINT8:
		if !uint8AtIO(n) {
			return "uint8 is only allowed at graph inputs and outputs"
		}
	default:
		return fmt.Sprintf("quantized type %d is not supported", q.DType)
	}
	if n.HasAttr("axis") && len(n.Inputs) > 1 && n.Inputs[1] != nil && n.Inputs[1].HasShape && len(n.Inputs[1].Shape) == 1 {
		if !isConstantTensor(q) {
			return "per-channel quantization is only allowed for constant weights and biases"
		}
	}
	return ""
}

// uint8AtIO reports whether a uint8 Q or DQ node is part of the pair at a
// graph input or output (the io config): the QuantizeLinear that reads a
// graph input and the DequantizeLinear after it, or the QuantizeLinear
// before a graph output's DequantizeLinear and that DequantizeLinear (or
// a QuantizeLinear writing the output itself).
func uint8AtIO(n *lower.Node) bool {
	if touchesGraphIO(n) {
		return true
	}
	g := n.Graph()
	switch n.Target.OpType {
	case "DequantizeLinear":
		p := n.Inputs[0].Producer
		return p != nil && p.Op == lower.CallFunction && p.Target.OpType == "QuantizeLinear" && touchesGraphIO(p)
	case "QuantizeLinear":
		users := g.Users(n.Outputs[0])
		for _, u := range users {
			if u.Op != lower.CallFunction || u.Target.OpType != "DequantizeLinear" || !touchesGraphIO(u) {
				return false
			}
		}
		return len(users) > 0
	}
	return false
}

func touchesGraphIO(n *lower.Node) bool {
	g := n.Graph()
	if g.Outer != nil {
		return false
	}
	for _, in := range n.Inputs {
		if in != nil && in.Producer != nil && in.Producer.Op == lower.Placeholder {
			return true
		}
	}
	out := g.OutputNode()
	for _, o := range n.Outputs {
		for _, u := range g.Users(o) {
			if u == out {
				return true
			}
		}
	}
	return false
}

// quantDType is the integer type a float input was dequantized from, 0
// when unknown.
func quantDType(v *lower.Value) int32 {
	v = source(v)
	if v == nil || v.Producer == nil || v.Producer.Target.OpType != "DequantizeLinear" || v.Producer.Inputs[0] == nil {
		return 0
	}
	return v.Producer.Inputs[0].DType
}

// reverseRule judges a Slice with a negative step, which lowers to TOSA
// REVERSE (followed by SLICE when it also crops). Vela runs REVERSE on
// U55/U65 along the H and W axes only ([V51] "REVERSE: W-axis and H-axis
// only"; Arm's reflection padding is rejected there for that reason).
//
// Which ONNX axis is H or W depends on the layout the TOSA tensor gets.
// ExecuTorch's ToTosaMemoryFormatPass makes rank-4 tensors channels-last
// (NCHW → NHWC) and leaves lower ranks in their order; Vela then reads a
// tensor of rank r ≤ 4 right-aligned onto NHWC (rank 3 is HWC, rank 2 WC,
// rank 1 C). So the legal axes are:
//
//	rank 4 [N,C,H,W]: 2 (H) and 3 (W)
//	rank 3:           0 (H) and 1 (W)
//	rank 2:           0 (W)
//	rank 1, rank > 4: none
//
// One more case is legal: a tensor whose only axis longer than 1 is the
// reversed one (a vector such as [1, 1, T]) is laid along W by a RESHAPE
// that only adds and drops size-1 axes, which moves no data. Vela itself
// reshapes a reversal over the batch or of a rank > 4 tensor into one
// along W, but that is a compiler rewrite rather than a documented
// constraint, so other reversals of the N or C axis are rejected
// (conservatively), as are strides other than -1, steps or axes that are
// not constants, and unknown ranks. A reversal that yields a single
// element along its axis is a plain SLICE.
func (c *checker) reverseRule(n *lower.Node) string {
	if len(n.Inputs) < 5 || n.Inputs[4] == nil {
		return ""
	}
	steps, ok := n.Inputs[4].ConstantInts()
	if !ok {
		return "Slice steps are not constant, so whether it reverses (TOSA REVERSE, H and W only on " + string(c.spec.Family()) + ") is unknown"
	}
	var axes []int64
	if len(n.Inputs) > 3 && n.Inputs[3] != nil {
		if axes, ok = n.Inputs[3].ConstantInts(); !ok {
			axes = nil
		}
	} else {
		for i := range steps {
			axes = append(axes, int64(i))
		}
	}
	x, y := n.Inputs[0], n.Outputs[0]
	for i, step := range steps {
		if step >= 0 {
			continue
		}
		if step != -1 {
			return fmt.Sprintf("Slice step %d reverses with a stride; only step -1 (TOSA REVERSE) is supported on %s", step, c.spec.Family())
		}
		if axes == nil || i >= len(axes) || x == nil || !x.HasShape {
			return "Slice with step -1 (TOSA REVERSE) along an axis or a rank that is not known; " + string(c.spec.Family()) + " reverses only along H and W"
		}
		rank := len(x.Shape)
		axis := axes[i]
		if axis < 0 {
			axis += int64(rank)
		}
		if axis < 0 || axis >= int64(rank) {
			return fmt.Sprintf("Slice axis %d is out of range for rank %d", axes[i], rank)
		}
		if y != nil && y.HasShape && len(y.Shape) == rank && y.Shape[axis].Known() && y.Shape[axis].Value <= 1 {
			continue // one element: nothing to reverse
		}
		if name := tosaAxis(rank, axis); name != "H" && name != "W" && !onlyLongAxis(x, axis) {
			return fmt.Sprintf("Slice with step -1 is a TOSA REVERSE along axis %d of a rank-%d tensor, the %s axis in Ethos-U's NHWC layout; "+
				"%s reverses only along H and W", axis, rank, name, c.spec.Family())
		}
	}
	return ""
}

// onlyLongAxis reports whether axis is the one axis of v longer than 1
// (all sizes known).
func onlyLongAxis(v *lower.Value, axis int64) bool {
	for i, d := range v.Shape {
		if !d.Known() || (int64(i) != axis && d.Value != 1) {
			return false
		}
	}
	return true
}

// tosaAxis names the NHWC axis an ONNX axis becomes: rank-4 tensors are
// made channels-last, lower ranks are right-aligned onto NHWC.
func tosaAxis(rank int, axis int64) string {
	switch rank {
	case 4:
		return [...]string{"N", "C", "H", "W"}[axis]
	case 3, 2, 1:
		return "NHWC"[4-rank+int(axis) : 4-rank+int(axis)+1]
	}
	return fmt.Sprintf("rank-%d", rank)
}

func isWeightDQ(v *lower.Value) bool {
	v = source(v)
	return v != nil && v.Producer != nil && v.Producer.Target.OpType == "DequantizeLinear" && isConstantTensor(v.Producer.Inputs[0])
}

func anyNonZero(xs []int64) bool {
	for _, x := range xs {
		if x != 0 {
			return true
		}
	}
	return false
}

func anyOver(xs []int64, limit int64) bool {
	for _, x := range xs {
		if x > limit {
			return true
		}
	}
	return false
}
