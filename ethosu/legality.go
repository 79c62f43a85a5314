package ethosu

import (
	"fmt"
	"sort"
	"strings"

	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// Placement says where a node of a quantized model runs.
type Placement string

// The placements a verdict can give.
const (
	OnNPU    Placement = "npu"  // a TOSA operator Vela compiles
	OnHost   Placement = "host" // control flow and its condition arithmetic on U55/U65
	Boundary Placement = "qdq"  // QuantizeLinear/DequantizeLinear: rescales folded by the compiler
)

// Verdict is the legality of one node.
type Verdict struct {
	Node      string    `json:"node"`
	Op        string    `json:"op"`
	Module    string    `json:"module,omitempty"`
	Submodule string    `json:"submodule,omitempty"`
	Placement Placement `json:"placement"`
	Legal     bool      `json:"legal"`
	// Rule names the rule a node breaks, empty when legal.
	Rule string `json:"rule,omitempty"`
}

// Report is the per-node legality of a model for one target.
type Report struct {
	Target string    `json:"target"`
	Nodes  []Verdict `json:"nodes"`
}

// Violations returns the verdicts that are not legal.
func (r *Report) Violations() []Verdict {
	var out []Verdict
	for _, v := range r.Nodes {
		if !v.Legal {
			out = append(out, v)
		}
	}
	return out
}

// Err returns an *IllegalModelError listing every violation, or nil.
func (r *Report) Err() error {
	if v := r.Violations(); len(v) > 0 {
		return &IllegalModelError{Target: r.Target, Violations: v}
	}
	return nil
}

// IllegalModelError lists every node the target cannot run. Partial
// quantization is not supported on Ethos-U, so one such node fails the model.
type IllegalModelError struct {
	Target     string
	Violations []Verdict
}

func (e *IllegalModelError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d node(s) cannot run on %s (partial quantization is not supported on Ethos-U):", len(e.Violations), e.Target)
	for _, v := range e.Violations {
		where := ""
		if v.Module != "" {
			where = " in module " + v.Module
		}
		if v.Submodule != "" {
			where += " (submodule " + v.Submodule + ")"
		}
		fmt.Fprintf(&b, "\n  node %q (%s)%s: %s", v.Node, v.Op, where, v.Rule)
	}
	return b.String()
}

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
	c := &checker{spec: spec, npu: npuOps(), u85: u85OnlyOps(), table: tableOps(), quantizedModel: qdq}
	_ = gm.Walk(func(m *lower.GraphModule) error {
		control := controlValues(m.Graph)
		for _, n := range m.Graph.Nodes {
			if n.Op != lower.CallFunction && n.Op != lower.CallModule {
				continue
			}
			v := Verdict{Node: n.Meta.SourceName, Op: n.Target.OpType, Module: n.Meta.Module(), Submodule: m.Name, Placement: OnNPU, Legal: true}
			if v.Node == "" {
				v.Node = n.Name
			}
			if rule := c.node(n, control, &v); rule != "" {
				v.Legal, v.Rule = false, rule
			}
			r.Nodes = append(r.Nodes, v)
		}
		return nil
	})
	return r
}

type checker struct {
	spec            CompileSpec
	npu, u85, table map[string]bool
	// qdq: the model is quantized, so Q/DQ placement is checked too.
	quantizedModel bool
}

// controlValues are the values computed only to decide control flow (If
// conditions, Loop trip counts and conditions) and everything computed
// only for them: on U55/U65 the host that runs the control flow evaluates
// them.
func controlValues(g *lower.Graph) map[*lower.Value]bool {
	control := map[*lower.Value]bool{}
	controlNode := map[*lower.Node]bool{}
	controlEdge := func(u *lower.Node, v *lower.Value) bool {
		if controlNode[u] {
			return true
		}
		if u.Op != lower.CallModule {
			return false
		}
		limit := 1
		if u.Target.OpType == "Loop" {
			limit = 2
		}
		for j := 0; j < limit && j < len(u.Inputs); j++ {
			if u.Inputs[j] == v {
				return true
			}
		}
		return false
	}
	for i := len(g.Nodes) - 1; i >= 0; i-- {
		n := g.Nodes[i]
		if n.Op != lower.CallFunction {
			continue
		}
		isCtl := false
		for _, out := range n.Outputs {
			if out == nil {
				continue
			}
			users := g.Users(out)
			if len(users) == 0 {
				isCtl = false
				break
			}
			isCtl = true
			for _, u := range users {
				if !controlEdge(u, out) {
					isCtl = false
				}
			}
			if !isCtl {
				break
			}
		}
		if isCtl {
			controlNode[n] = true
			for _, out := range n.Outputs {
				if out != nil {
					control[out] = true
				}
			}
		}
	}
	return control
}

func (c *checker) node(n *lower.Node, control map[*lower.Value]bool, v *Verdict) string {
	op := n.Target.OpType
	if n.Target.Domain != "" && n.Target.Domain != "ai.onnx" {
		return fmt.Sprintf("operator of domain %q has no Ethos-U equivalent", n.Target.Domain)
	}
	switch op {
	case "QuantizeLinear", "DequantizeLinear":
		v.Placement = Boundary
		return c.qdq(n)
	case "If", "Loop", "Scan":
		if op == "Scan" {
			return "Scan has no Ethos-U equivalent"
		}
		if c.spec.U55Subset() {
			v.Placement = OnHost
		}
		return ""
	}
	if isControl(n, control) {
		if c.spec.U55Subset() {
			v.Placement = OnHost
		}
		return ""
	}
	if op == "Constant" {
		return ""
	}
	for _, t := range append(append([]*lower.Value{}, n.Inputs...), n.Outputs...) {
		if t != nil && t.HasShape && len(t.Shape) > 6 {
			return fmt.Sprintf("tensor %q has rank %d; the limit is 6", t.Name, len(t.Shape))
		}
	}
	if !c.npu[op] && !c.u85[op] {
		return "operator not supported by Ethos-U (no TOSA INT lowering)"
	}
	if c.u85[op] && c.spec.U55Subset() {
		return fmt.Sprintf("%s is not supported on %s (only on Ethos-U85)", op, c.spec.Family())
	}
	if !c.quantizedModel {
		return c.opRule(n)
	}
	if rule := c.quantized(n); rule != "" {
		return rule
	}
	return c.opRule(n)
}

func isControl(n *lower.Node, control map[*lower.Value]bool) bool {
	if len(n.Outputs) == 0 {
		return false
	}
	for _, o := range n.Outputs {
		if o != nil && !control[o] {
			return false
		}
	}
	return true
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

func isConstantTensor(v *lower.Value) bool {
	v = source(v)
	return v.Producer != nil && (v.Producer.Op == lower.GetAttr || v.Producer.Target.OpType == "Constant")
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
		if !touchesGraphIO(n) {
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

// opRule applies the per-operator limits of the target.
func (c *checker) opRule(n *lower.Node) string {
	op := n.Target.OpType
	u55 := c.spec.U55Subset()
	int16 := int32(onnxpb.TensorProto_INT16)
	switch {
	case c.table[op] && u55:
		if quantDType(n.Inputs[0]) == int16 {
			return fmt.Sprintf("%s becomes a TABLE lookup, which is int8 only on %s", op, c.spec.Family())
		}
	case op == "MatMul" && u55:
		// A constant operand makes it a fully connected layer (a 1×1
		// CONV2D, 16x8 allowed); two activations make a TOSA MATMUL,
		// which is i8×i8 only.
		a, b := n.Inputs[0], n.Inputs[1]
		if !isWeightDQ(a) && !isWeightDQ(b) && (quantDType(a) == int16 || quantDType(b) == int16) {
			return "activation×activation MatMul is int8 only on " + string(c.spec.Family())
		}
	case op == "Conv" || op == "ConvTranspose":
		return c.convRule(n)
	case op == "MaxPool" || op == "AveragePool":
		k := n.AttrInts("kernel_shape", nil)
		if len(k) == 2 {
			if k[0] > 256 || k[0]*k[1] > 65536 {
				return fmt.Sprintf("pooling kernel %v exceeds ky ≤ 256, kx·ky ≤ 65536", k)
			}
			pads := n.AttrInts("pads", nil)
			if op == "AveragePool" && anyNonZero(pads) && (k[0] > 8 || k[1] > 8) {
				return fmt.Sprintf("padded average pooling kernel %v exceeds 8x8", k)
			}
		}
		for _, s := range n.AttrInts("strides", nil) {
			if s > 3 && u55 {
				return fmt.Sprintf("pooling stride %d exceeds 3", s)
			}
		}
	case op == "Pad" && u55:
		if mode := n.AttrString("mode", "constant"); mode != "constant" {
			return fmt.Sprintf("Pad mode %q is not supported on %s (constant only; the quantizer rewrites reflect, edge and wrap "+
				"padding by constant, non-negative amounts as Slice and Concat, which this Pad does not have)", mode, c.spec.Family())
		}
	case op == "Slice" && u55:
		return c.reverseRule(n)
	case op == "Resize" && antialiasShrinkRule(n) != "":
		return antialiasShrinkRule(n)
	case op == "Resize" && u55:
		if mode := n.AttrString("mode", "nearest"); mode != "nearest" {
			return fmt.Sprintf("Resize mode %q is not supported on %s (nearest only)", mode, c.spec.Family())
		}
	case op == "Gather" && u55:
		if len(n.Inputs) > 1 && !isConstantTensor(n.Inputs[1]) {
			return "Gather with a computed index is not supported on " + string(c.spec.Family())
		}
	}
	return ""
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
	steps, ok := constantInts(n.Inputs[4])
	if !ok {
		return "Slice steps are not constant, so whether it reverses (TOSA REVERSE, H and W only on " + string(c.spec.Family()) + ") is unknown"
	}
	var axes []int64
	if len(n.Inputs) > 3 && n.Inputs[3] != nil {
		if axes, ok = constantInts(n.Inputs[3]); !ok {
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

// constantInts reads an integer initializer or Constant, through body
// captures.
func constantInts(v *lower.Value) ([]int64, bool) {
	v = source(v)
	if v == nil || v.Producer == nil {
		return nil, false
	}
	p := v.Producer
	var t *onnxpb.TensorProto
	switch {
	case p.Op == lower.GetAttr:
		t = p.Initializer
	case p.Op == lower.CallFunction && p.Target.OpType == "Constant":
		t = p.AttrTensor("value")
	}
	if t == nil {
		return nil, false
	}
	out, err := onnxio.Int64s(t, p.Graph().Module.Root().Dir)
	return out, err == nil
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

// convRule applies Vela's kernel and stride limits to a 2-D convolution.
func (c *checker) convRule(n *lower.Node) string {
	k := n.AttrInts("kernel_shape", nil)
	if len(k) == 0 && len(n.Inputs) > 1 && n.Inputs[1] != nil && n.Inputs[1].HasShape {
		for _, d := range n.Inputs[1].Shape[2:] {
			k = append(k, d.Value)
		}
	}
	if len(k) == 3 && c.spec.U55Subset() {
		return "3-D convolution is not supported on " + string(c.spec.Family())
	}
	if len(k) == 2 {
		if k[0] > 64 || k[0]*k[1] > 4096 {
			return fmt.Sprintf("kernel %v exceeds ky ≤ 64 and kx·ky ≤ 4096", k)
		}
	}
	strides := n.AttrInts("strides", nil)
	dil := n.AttrInts("dilations", nil)
	pads := n.AttrInts("pads", nil)
	for _, s := range strides {
		if n.Target.OpType == "ConvTranspose" {
			if s > 2 {
				return fmt.Sprintf("transposed convolution stride %v is not (1,1) or (2,2)", strides)
			}
			continue
		}
		if s > 3 && (anyNonZero(pads) || anyOver(dil, 1)) {
			return fmt.Sprintf("stride %v exceeds 3 with padding or dilation", strides)
		}
	}
	if n.Target.OpType == "ConvTranspose" && anyOver(dil, 1) {
		return "transposed convolution needs dilation 1"
	}
	return ""
}

func anyOver(xs []int64, limit int64) bool {
	for _, x := range xs {
		if x > limit {
			return true
		}
	}
	return false
}

// Summary counts the verdicts per placement, for reports.
func (r *Report) Summary() map[Placement]int {
	out := map[Placement]int{}
	for _, v := range r.Nodes {
		out[v.Placement]++
	}
	return out
}

// Ops lists the distinct op types of the violations, sorted.
func (e *IllegalModelError) Ops() []string {
	seen := map[string]bool{}
	for _, v := range e.Violations {
		seen[v.Op] = true
	}
	var out []string
	for op := range seen {
		out = append(out, op)
	}
	sort.Strings(out)
	return out
}
