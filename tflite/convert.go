package tflite

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// ExportOptions controls Export.
type ExportOptions struct {
	// Target is the Ethos-U target the checks apply (ethos-u55-128, ...).
	Target string
	// FloatIO makes the model take and return float32 (a QUANTIZE after
	// each input, a DEQUANTIZE before each output): a verification copy for
	// interpreters that only take float, never for deployment.
	FloatIO bool
	// InputShapes fixes dynamic input sizes (a model whose paths take
	// inputs of different sizes keeps them dynamic; one exported branch
	// runs at one size). Static sizes must agree.
	InputShapes map[string][]int64
	// Interrupt, when set, is polled once per node; its error ends the
	// export (the CLI passes its context's Err, so Ctrl-C stops a long
	// export promptly).
	Interrupt func() error
}

// MetadataName names the Model.metadata entry the exporter writes: JSON
// with the target, whether the I/O is float, and what the file is for.
const MetadataName = "onnxquant_export"

// ExportInfo is the JSON of the MetadataName entry.
type ExportInfo struct {
	Target  string `json:"target"`
	FloatIO bool   `json:"float_io"`
	Purpose string `json:"purpose"`
	// InputLayouts and OutputLayouts say, per model input and output,
	// "NHWC" when the tensor is the NHWC form of an ONNX NCHW tensor, and
	// "ONNX" when it has the ONNX shape and order.
	InputLayouts  []string `json:"input_layouts"`
	OutputLayouts []string `json:"output_layouts"`
}

// Layouts reads the exporter's metadata of m as the --layouts argument of
// scripts/litert-compare.mjs ("NHWC,ONNX/ONNX"), "" when absent.
func Layouts(m *Model) string {
	for _, md := range m.Metadata {
		if md.Name == MetadataName {
			var info ExportInfo
			if json.Unmarshal(md.Data, &info) == nil {
				return strings.Join(info.InputLayouts, ",") + "/" + strings.Join(info.OutputLayouts, ",")
			}
		}
	}
	return ""
}

func exportMetadata(opts ExportOptions, in, out []string) Metadata {
	purpose := "deployment: compile with Vela for " + opts.Target
	if opts.FloatIO {
		purpose = "verification only: float inputs and outputs for interpreters that take float; not for deployment"
	}
	b, _ := json.Marshal(ExportInfo{opts.Target, opts.FloatIO, purpose, in, out})
	return Metadata{Name: MetadataName, Data: b}
}

// ErrUnsupported is wrapped by errors about nodes the exporter cannot map
// to TFLite builtins that Vela runs on the NPU.
var ErrUnsupported = errors.New("no NPU form in TFLite")

// NodeError lists the nodes of a model the exporter refused, with why.
type NodeError struct {
	Problems []string
}

func (e *NodeError) Error() string {
	return fmt.Sprintf("%d node(s) cannot be exported for the NPU:\n  %s", len(e.Problems), strings.Join(e.Problems, "\n  "))
}

func (e *NodeError) Unwrap() error { return ErrUnsupported }

// value is a quantized activation of the ONNX graph as a TFLite tensor.
type value struct {
	tensor int
	// shape is the ONNX shape; the TFLite tensor holds it in NHWC order
	// when nhwc is set (rank-4 activations of NCHW operators), and in the
	// channels-last order [N, L, C] for rank 3 (see clPerm).
	shape []int64
	nhwc  bool
	// flatOrder, when set, says that this 2-D [N, K] value holds its K
	// columns in NHWC order: column j is ONNX column flatOrder[j]. Only a
	// FULLY_CONNECTED consumer can absorb it (by permuting its weights).
	flatOrder []int
}

// qconst is a quantized constant: an initializer behind a DequantizeLinear.
type qconst struct {
	name  string
	dtype TensorType
	dims  []int64
	vals  []int64
	scale []float32
	zp    []int64
	axis  int
}

type converter struct {
	g         *onnxpb.GraphProto
	dir       string
	opts      ExportOptions
	consts    map[string]*onnxpb.TensorProto
	producer  map[string]*onnxpb.NodeProto
	consumers map[string][]*onnxpb.NodeProto
	vals      map[string]*value
	// done marks nodes already emitted as part of another (fused Relu,
	// the QuantizeLinear after an operator).
	done     map[*onnxpb.NodeProto]bool
	out      *Model
	problems []string
	// inLayouts and outLayouts record each model input's and output's
	// layout for the metadata.
	inLayouts, outLayouts []string
}

func layoutName(nhwc bool) string {
	if nhwc {
		return "NHWC"
	}
	return "ONNX"
}

// Export converts a QDQ ONNX model (onnxquant's output) to a TFLite model.
// It fails, listing every offending node, when some node has no TFLite
// builtin Vela runs on the NPU, or the model's scales break a TFLite rule.
func Export(m *onnxio.Model, opts ExportOptions) (*Model, error) {
	g := m.Proto.GetGraph()
	if g == nil {
		return nil, fmt.Errorf("model has no graph")
	}
	c := &converter{
		g: g, dir: m.Dir, opts: opts,
		consts:    map[string]*onnxpb.TensorProto{},
		producer:  map[string]*onnxpb.NodeProto{},
		consumers: map[string][]*onnxpb.NodeProto{},
		vals:      map[string]*value{},
		done:      map[*onnxpb.NodeProto]bool{},
		out:       &Model{Description: "onnxquant export of " + m.Proto.GetGraph().GetName()},
	}
	if err := c.run(); err != nil {
		return nil, err
	}
	c.out.setVersions()
	c.out.Metadata = append(c.out.Metadata, exportMetadata(opts, c.inLayouts, c.outLayouts))
	return c.out, nil
}

func (c *converter) run() error {
	for _, t := range c.g.Initializer {
		c.consts[t.GetName()] = t
	}
	if cf := controlFlow(c.g); len(cf) > 0 {
		return &ControlFlowError{Nodes: cf}
	}
	for _, n := range c.g.Node {
		if n.GetOpType() == "Constant" && len(n.Output) == 1 {
			if a := attr(n, "value"); a != nil && a.T != nil {
				t := a.T
				c.consts[n.Output[0]] = t
				c.done[n] = true
				continue
			}
		}
		for _, o := range n.Output {
			c.producer[o] = n
		}
		for _, in := range n.Input {
			if in != "" {
				c.consumers[in] = append(c.consumers[in], n)
			}
		}
	}
	if err := c.inputs(); err != nil {
		return err
	}
	// A node downstream of a refused one is not reported again.
	failed := map[string]bool{}
	for _, n := range c.g.Node {
		if c.opts.Interrupt != nil {
			if err := c.opts.Interrupt(); err != nil {
				return err
			}
		}
		if c.done[n] {
			continue
		}
		upstream := false
		for _, in := range n.Input {
			upstream = upstream || failed[in]
		}
		var err error
		if !upstream {
			err = c.node(n)
		}
		if upstream || (err != nil && !errors.Is(err, errSkipped)) {
			for _, o := range n.Output {
				failed[o] = true
			}
			if !upstream {
				c.problems = append(c.problems, fmt.Sprintf("%s: %v", nodeLabel(n), err))
			} else if _, mapped := handlers[n.GetOpType()]; !mapped && n.GetOpType() != "QuantizeLinear" && n.GetOpType() != "DequantizeLinear" {
				// Downstream of a refusal, but refused on its own too.
				c.problems = append(c.problems, fmt.Sprintf("%s: %v (no TFLite builtin that Vela runs on the NPU is mapped for %s)", nodeLabel(n), ErrUnsupported, n.GetOpType()))
			}
		}
	}
	if len(c.problems) > 0 {
		return &NodeError{Problems: c.problems}
	}
	return c.outputs()
}

// errSkipped marks a node that produced nothing by itself (its work was
// done by a neighbour).
var errSkipped = errors.New("skipped")

// inputs makes one TFLite input per float graph input, quantized with the
// QuantizeLinear that follows it.
func (c *converter) inputs() error {
	for name := range c.opts.InputShapes {
		found := false
		for _, vi := range c.g.Input {
			found = found || vi.GetName() == name
		}
		if !found {
			return fmt.Errorf("an input shape is given for %q, which is not an input of the model", name)
		}
	}
	for _, vi := range c.g.Input {
		name := vi.GetName()
		if _, isConst := c.consts[name]; isConst {
			continue
		}
		shape, err := staticShape(vi, c.opts.InputShapes[name])
		if err != nil {
			return fmt.Errorf("input %q: %w", name, err)
		}
		var q *onnxpb.NodeProto
		for _, n := range c.consumers[name] {
			if n.GetOpType() == "QuantizeLinear" {
				if q != nil {
					return fmt.Errorf("input %q: quantized twice (%q and %q)", name, q.GetName(), n.GetName())
				}
				q = n
			}
		}
		if q == nil || len(c.consumers[name]) != 1 {
			return fmt.Errorf("input %q: expected exactly one QuantizeLinear consumer, the QDQ form onnxquant writes", name)
		}
		typ, quant, err := c.activationQuant(q)
		if err != nil {
			return fmt.Errorf("input %q: %w", name, err)
		}
		v := &value{shape: shape, nhwc: len(shape) == 4 && c.wantsNHWC(q.Output[0])}
		tshape := v.tflShape()
		if c.opts.FloatIO {
			fin := c.addTensor(&Tensor{Name: name, Type: Float32, Shape: tshape})
			v.tensor = c.addTensor(&Tensor{Name: name + "_quantized", Type: typ, Shape: tshape, Quant: quant})
			c.addOp(OpQuantize, []int{fin}, []int{v.tensor}, nil)
			c.out.Inputs = append(c.out.Inputs, fin)
		} else {
			v.tensor = c.addTensor(&Tensor{Name: name, Type: typ, Shape: tshape, Quant: quant})
			c.out.Inputs = append(c.out.Inputs, v.tensor)
		}
		c.vals[q.Output[0]] = v
		c.done[q] = true
		c.inLayouts = append(c.inLayouts, layoutName(v.nhwc))
	}
	return nil
}

// wantsNHWC reports whether a rank-4 quantized input is read by spatial
// (NCHW) operators, looking through its DequantizeLinear and through
// requantizations (a uint8 input, `io: uint8`, is requantized to int8
// before the convolution reads it) and operators that keep the layout
// (YOLOX's space-to-depth Slices and Concat before its first Conv).
func (c *converter) wantsNHWC(qout string) bool {
	seen := map[string]bool{}
	var reads func(name string, depth int) bool
	reads = func(name string, depth int) bool {
		if seen[name] || depth > 32 {
			return false
		}
		seen[name] = true
		for _, n := range c.consumers[name] {
			switch op := n.GetOpType(); {
			case spatialOps[op]:
				return true
			case op == "QuantizeLinear" || op == "DequantizeLinear" || layoutKeeping[op]:
				for _, o := range n.Output {
					if reads(o, depth+1) {
						return true
					}
				}
			}
		}
		return false
	}
	return reads(qout, 0)
}

// layoutKeeping operators map NHWC tensors as well as NCHW ones.
var layoutKeeping = map[string]bool{
	"Slice": true, "Concat": true, "Relu": true, "Clip": true, "Sigmoid": true, "Mul": true, "Add": true, "Sub": true,
}

// spatialOps read rank-4 tensors as NCHW.
var spatialOps = map[string]bool{
	"Conv": true, "ConvTranspose": true, "MaxPool": true, "AveragePool": true, "GlobalAveragePool": true,
	"GlobalMaxPool": true, "Resize": true, "DepthToSpace": true, "SpaceToDepth": true,
}

func (c *converter) outputs() error {
	for _, vi := range c.g.Output {
		name := vi.GetName()
		v, ok := c.vals[name]
		if !ok {
			return fmt.Errorf("output %q: not a quantized tensor (expected the DequantizeLinear onnxquant writes before each output)", name)
		}
		if v.flatOrder != nil {
			return fmt.Errorf("output %q: flattened in NHWC order; only a FULLY_CONNECTED consumer can take it", name)
		}
		idx := v.tensor
		if c.opts.FloatIO {
			t := c.out.Tensors[idx]
			f := c.addTensor(&Tensor{Name: name, Type: Float32, Shape: t.Shape})
			c.addOp(OpDequantize, []int{idx}, []int{f}, nil)
			idx = f
		} else {
			c.out.Tensors[idx].Name = name
		}
		c.out.Outputs = append(c.out.Outputs, idx)
		c.outLayouts = append(c.outLayouts, layoutName(v.nhwc && len(v.shape) >= 3))
	}
	return nil
}

func staticShape(vi *onnxpb.ValueInfoProto, fixed []int64) ([]int64, error) {
	tt := vi.GetType().GetTensorType()
	if tt == nil || tt.GetShape() == nil {
		if fixed != nil {
			return fixed, nil
		}
		return nil, errors.New("no static shape in the model")
	}
	dims := tt.GetShape().GetDim()
	if fixed != nil {
		if len(fixed) != len(dims) {
			return nil, fmt.Errorf("the given shape %v has rank %d; the model's input has rank %d", fixed, len(fixed), len(dims))
		}
		for i, d := range dims {
			if d.GetDimParam() == "" && d.GetDimValue() > 0 && d.GetDimValue() != fixed[i] {
				return nil, fmt.Errorf("the given shape %v: dimension %d is %d in the model", fixed, i, d.GetDimValue())
			}
		}
		return fixed, nil
	}
	var shape []int64
	for i, d := range dims {
		if d.GetDimParam() != "" || d.GetDimValue() <= 0 {
			if i == 0 && d.GetDimParam() != "" {
				shape = append(shape, 1) // a symbolic batch runs one sample at a time on the NPU
				continue
			}
			return nil, fmt.Errorf("dimension %d is dynamic (%q): TFLite for Vela needs static shapes (give --input-shape)", i, d.GetDimParam())
		}
		shape = append(shape, d.GetDimValue())
	}
	return shape, nil
}

func (v *value) tflShape() []int32 {
	s := v.shape
	if len(s) == 0 {
		return []int32{1} // Vela leaves shapeless tensors on the CPU
	}
	if v.nhwc && len(s) >= 3 {
		cl := make([]int64, len(s))
		for i, p := range clPerm(len(s)) {
			cl[i] = s[p]
		}
		s = cl
	}
	out := make([]int32, len(s))
	for i, d := range s {
		out[i] = int32(d)
	}
	return out
}

func (c *converter) addTensor(t *Tensor) int {
	c.out.Tensors = append(c.out.Tensors, t)
	return len(c.out.Tensors) - 1
}

func (c *converter) addOp(op BuiltinOp, in, out []int, opts *Options) *Operator {
	o := &Operator{Op: op, Inputs: in, Outputs: out, Options: opts}
	c.out.Operators = append(c.out.Operators, o)
	return o
}

// activationQuant reads the element type and qparams of a QuantizeLinear
// (or DequantizeLinear) node on an activation: per-tensor only.
func (c *converter) activationQuant(q *onnxpb.NodeProto) (TensorType, *Quant, error) {
	if len(q.Input) < 2 {
		return 0, nil, fmt.Errorf("%s: no scale", nodeLabel(q))
	}
	st, ok := c.consts[q.Input[1]]
	if !ok {
		return 0, nil, fmt.Errorf("%s: scale %q is not a constant", nodeLabel(q), q.Input[1])
	}
	scale, err := floatValues(st, c.dir)
	if err != nil {
		return 0, nil, err
	}
	if len(scale) != 1 {
		return 0, nil, fmt.Errorf("%s: %d scales on an activation; TFLite allows per-axis only on conv-like weights", nodeLabel(q), len(scale))
	}
	zp := []int64{0}
	typ := Uint8 // QuantizeLinear's default output type
	if len(q.Input) > 2 && q.Input[2] != "" {
		zt, ok := c.consts[q.Input[2]]
		if !ok {
			return 0, nil, fmt.Errorf("%s: zero point %q is not a constant", nodeLabel(q), q.Input[2])
		}
		if zp, err = intValues(zt, c.dir); err != nil {
			return 0, nil, err
		}
		t, ok := quantType(zt.GetDataType())
		if !ok || t == Int32 {
			return 0, nil, fmt.Errorf("%s: activation type %s has no TFLite form", nodeLabel(q), onnxio.DataTypeName(zt.GetDataType()))
		}
		typ = t
	}
	if !(scale[0] > 0) || math.IsInf(float64(scale[0]), 0) {
		return 0, nil, fmt.Errorf("%s: scale %g; TFLite and Vela need a positive finite scale", nodeLabel(q), scale[0])
	}
	return typ, &Quant{Scale: scale, ZeroPoint: zp[:1]}, nil
}

// throughIdentity resolves Identity nodes on constants.
func (c *converter) throughIdentity(name string) string {
	for p := c.producer[name]; p != nil && p.GetOpType() == "Identity"; p = c.producer[name] {
		name = p.Input[0]
	}
	return name
}

// constOf returns the quantized constant behind a DequantizeLinear output.
func (c *converter) constOf(name string) (*qconst, error) {
	name = c.throughIdentity(name)
	dq := c.producer[name]
	if dq == nil || dq.GetOpType() != "DequantizeLinear" {
		if _, ok := c.consts[name]; ok {
			return nil, fmt.Errorf("constant %q is float; onnxquant quantizes every constant operand", name)
		}
		return nil, fmt.Errorf("%q is not a quantized constant", name)
	}
	t, ok := c.consts[dq.Input[0]]
	if !ok {
		if q := c.producer[dq.Input[0]]; q != nil && q.GetOpType() == "QuantizeLinear" && c.isConstOperand(q.Input[0]) {
			return c.requantizedConst(q, dq)
		}
		return nil, fmt.Errorf("%q is not a quantized constant", name)
	}
	typ, ok := quantType(t.GetDataType())
	if !ok {
		return nil, fmt.Errorf("constant %q: type %s has no TFLite form", dq.Input[0], onnxio.DataTypeName(t.GetDataType()))
	}
	vals, err := intValues(t, c.dir)
	if err != nil {
		return nil, err
	}
	st, ok := c.consts[dq.Input[1]]
	if !ok {
		return nil, fmt.Errorf("%s: scale is not a constant", nodeLabel(dq))
	}
	scale, err := floatValues(st, c.dir)
	if err != nil {
		return nil, err
	}
	zp := make([]int64, len(scale))
	if len(dq.Input) > 2 && dq.Input[2] != "" {
		zt, ok := c.consts[dq.Input[2]]
		if !ok {
			return nil, fmt.Errorf("%s: zero point is not a constant", nodeLabel(dq))
		}
		if zp, err = intValues(zt, c.dir); err != nil {
			return nil, err
		}
	}
	if len(zp) != len(scale) {
		return nil, fmt.Errorf("%s: %d scales and %d zero points", nodeLabel(dq), len(scale), len(zp))
	}
	q := &qconst{name: dq.Input[0], dtype: typ, dims: onnxio.TensorShape(t), vals: vals, scale: scale, zp: zp}
	q.axis = int(attrInt(dq, "axis", 1))
	if q.axis < 0 {
		q.axis += len(q.dims)
	}
	if len(scale) > 1 && (q.axis < 0 || q.axis >= len(q.dims) || q.dims[q.axis] != int64(len(scale))) {
		return nil, fmt.Errorf("%s: %d scales along axis %d of %v", nodeLabel(dq), len(scale), q.axis, q.dims)
	}
	return q, nil
}

// requantizedConst folds DequantizeLinear(QuantizeLinear(c)) of a
// quantized constant c into the constant the second pair defines, as ONNX
// Runtime computes it.
func (c *converter) requantizedConst(q, dq *onnxpb.NodeProto) (*qconst, error) {
	src, err := c.constOf(q.Input[0])
	if err != nil {
		return nil, err
	}
	st, ok1 := c.consts[q.Input[1]]
	zt, ok2 := c.consts[q.Input[2]]
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%s: qparams are not constants", nodeLabel(q))
	}
	scale, err := floatValues(st, c.dir)
	if err != nil {
		return nil, err
	}
	zp, err := intValues(zt, c.dir)
	if err != nil {
		return nil, err
	}
	typ, ok := quantType(zt.GetDataType())
	if !ok || len(zp) != len(scale) {
		return nil, fmt.Errorf("%s: unsupported qparams", nodeLabel(q))
	}
	out := &qconst{name: q.Output[0], dtype: typ, dims: src.dims, scale: scale, zp: zp, vals: make([]int64, len(src.vals))}
	out.axis = int(attrInt(q, "axis", 1))
	if out.axis < 0 {
		out.axis += len(src.dims)
	}
	// channel returns which per-axis entry element i uses.
	channel := func(i, axis, n int) int {
		if n == 1 {
			return 0
		}
		inner := 1
		for _, d := range src.dims[axis+1:] {
			inner *= int(d)
		}
		return (i / inner) % n
	}
	for i, v := range src.vals {
		a := channel(i, src.axis, len(src.scale))
		real := float64(src.scale[a]) * float64(v-src.zp[a])
		b := channel(i, out.axis, len(scale))
		out.vals[i] = clampQ(math.RoundToEven(real/float64(scale[b]))+float64(zp[b]), typ)
	}
	return out, nil
}

// isConstOperand reports whether an operator input is a (dequantized)
// constant rather than an activation.
func (c *converter) isConstOperand(name string) bool {
	if _, ok := c.vals[name]; ok {
		return false
	}
	name = c.throughIdentity(name)
	dq := c.producer[name]
	if dq == nil {
		_, ok := c.consts[name]
		return ok
	}
	if dq.GetOpType() != "DequantizeLinear" {
		return false
	}
	if _, ok := c.consts[dq.Input[0]]; ok {
		return true
	}
	q := c.producer[dq.Input[0]]
	return q != nil && q.GetOpType() == "QuantizeLinear" && c.isConstOperand(q.Input[0])
}

// in returns the activation value feeding a node input.
func (c *converter) in(name string) (*value, error) {
	v, ok := c.vals[name]
	if !ok {
		if p := c.producer[name]; p != nil {
			return nil, fmt.Errorf("input %q comes from %s without a QuantizeLinear/DequantizeLinear pair (a float tensor)", name, nodeLabel(p))
		}
		return nil, fmt.Errorf("input %q is not a quantized activation", name)
	}
	if v.flatOrder != nil {
		return nil, fmt.Errorf("input %q is flattened in NHWC order; only FULLY_CONNECTED can take it", name)
	}
	return v, nil
}

// outTarget is where a float operator output goes: the QuantizeLinear that
// quantizes it, possibly behind a Relu or Clip that can be fused.
type outTarget struct {
	q    *onnxpb.NodeProto
	act  Activation
	fuse *onnxpb.NodeProto // the Relu/Clip folded in, if any
	typ  TensorType
	qnt  *Quant
}

// unaryIO reads a one-input operator's input and the target of its output
// (no activation fused): how most operators begin.
func (c *converter) unaryIO(n *onnxpb.NodeProto) (*value, *outTarget, error) {
	x, err := c.in(n.Input[0])
	if err != nil {
		return nil, nil, err
	}
	t, err := c.target(n.Output[0], false)
	if err != nil {
		return nil, nil, err
	}
	return x, t, nil
}

// target finds the quantization of a float output. allowFuse lets a
// following Relu/Clip be folded when the output qparams make it exact.
func (c *converter) target(out string, allowFuse bool) (*outTarget, error) {
	cons := c.consumers[out]
	if len(cons) != 1 {
		return nil, fmt.Errorf("output %q has %d consumers; expected one QuantizeLinear", out, len(cons))
	}
	n := cons[0]
	t := &outTarget{}
	if allowFuse && (n.GetOpType() == "Relu" || n.GetOpType() == "Clip") {
		next := c.consumers[n.Output[0]]
		if len(next) == 1 && next[0].GetOpType() == "QuantizeLinear" {
			typ, qnt, err := c.activationQuant(next[0])
			if err != nil {
				return nil, err
			}
			act, ok, err := c.fusedActivation(n, typ, qnt)
			if err != nil {
				return nil, err
			}
			if ok {
				t.q, t.act, t.fuse, t.typ, t.qnt = next[0], act, n, typ, qnt
				return t, nil
			}
		}
	}
	if n.GetOpType() != "QuantizeLinear" {
		return nil, fmt.Errorf("output %q feeds %s, not a QuantizeLinear: a float tensor between two operators", out, nodeLabel(n))
	}
	typ, qnt, err := c.activationQuant(n)
	if err != nil {
		return nil, err
	}
	t.q, t.typ, t.qnt = n, typ, qnt
	return t, nil
}

// fusedActivation decides whether a Relu or Clip before a quantizer with
// the given qparams is exactly one of TFLite's fused activations: the
// fused forms clamp to [quantize(lo), quantize(hi)] within the type range,
// so a Clip bound that lies outside the representable range is free.
func (c *converter) fusedActivation(n *onnxpb.NodeProto, typ TensorType, q *Quant) (Activation, bool, error) {
	lo, hi, err := c.clipBounds(n)
	if err != nil {
		return 0, false, err
	}
	qmin, qmax := typeRange(typ)
	s, zp := float64(q.Scale[0]), q.ZeroPoint[0]
	realMin, realMax := float64(qmin-zp)*s, float64(qmax-zp)*s
	freeLo := math.IsInf(lo, -1) || lo <= realMin
	freeHi := math.IsInf(hi, 1) || hi >= realMax
	switch {
	case lo == 0 && freeHi:
		return ActRelu, true, nil
	case lo == 0 && hi == 6:
		return ActRelu6, true, nil
	case lo == -1 && hi == 1:
		return ActReluN1To1, true, nil
	case freeLo && freeHi:
		return ActNone, true, nil
	case lo == 0 && math.Abs(hi-realMax) < s/2:
		return ActRelu, true, nil
	}
	return 0, false, nil
}

// clipBounds reads a Relu's or Clip's bounds (-Inf/+Inf when absent).
func (c *converter) clipBounds(n *onnxpb.NodeProto) (float64, float64, error) {
	if n.GetOpType() == "Relu" {
		return 0, math.Inf(1), nil
	}
	lo, hi := math.Inf(-1), math.Inf(1)
	if a := attr(n, "min"); a != nil {
		lo = float64(a.GetF())
	}
	if a := attr(n, "max"); a != nil {
		hi = float64(a.GetF())
	}
	read := func(i int, dst *float64) error {
		if len(n.Input) <= i || n.Input[i] == "" {
			return nil
		}
		t, ok := c.consts[n.Input[i]]
		if !ok {
			return fmt.Errorf("clip bound %q is computed, not a constant", n.Input[i])
		}
		v, err := floatValues(t, c.dir)
		if err != nil || len(v) != 1 {
			return fmt.Errorf("clip bound %q: not a float scalar", n.Input[i])
		}
		*dst = float64(v[0])
		return nil
	}
	if err := read(1, &lo); err != nil {
		return 0, 0, err
	}
	if err := read(2, &hi); err != nil {
		return 0, 0, err
	}
	return lo, hi, nil
}

// emitOut creates the output tensor for a target and registers the
// QuantizeLinear's output (and its DequantizeLinear consumers) as the
// value.
func (c *converter) emitOut(t *outTarget, shape []int64, nhwc bool) (int, *value) {
	v := &value{shape: shape, nhwc: nhwc}
	v.tensor = c.addTensor(&Tensor{Name: t.q.Output[0], Type: t.typ, Shape: v.tflShape(), Quant: t.qnt})
	c.vals[t.q.Output[0]] = v
	c.done[t.q] = true
	if t.fuse != nil {
		c.done[t.fuse] = true
	}
	return v.tensor, v
}

// node converts one ONNX node.
func (c *converter) node(n *onnxpb.NodeProto) error {
	switch n.GetOpType() {
	case "DequantizeLinear":
		return c.dequantize(n)
	case "QuantizeLinear":
		return c.requantize(n)
	}
	h, ok := handlers[n.GetOpType()]
	if !ok {
		return fmt.Errorf("%w (no TFLite builtin that Vela runs on the NPU is mapped for %s)", ErrUnsupported, n.GetOpType())
	}
	return h(c, n)
}

// dequantize aliases a DequantizeLinear of an activation to its quantized
// value; one of a constant is read by its consumer.
func (c *converter) dequantize(n *onnxpb.NodeProto) error {
	if _, isConst := c.consts[n.Input[0]]; isConst || c.isConstOperand(n.Output[0]) {
		return errSkipped
	}
	v, ok := c.vals[n.Input[0]]
	if !ok {
		return fmt.Errorf("input %q is not a quantized activation", n.Input[0])
	}
	c.vals[n.Output[0]] = v
	return nil
}

// requantize maps QuantizeLinear(DequantizeLinear(x)) with new qparams to
// an integer QUANTIZE (a rescale, which Vela runs on the NPU).
func (c *converter) requantize(n *onnxpb.NodeProto) error {
	if c.isConstOperand(n.Input[0]) {
		return errSkipped // a constant requantized: folded by constOf
	}
	v, err := c.in(n.Input[0])
	if err != nil {
		return fmt.Errorf("quantizes float tensor %q that no exported operator produces", n.Input[0])
	}
	t, err := c.target(n.Input[0], false)
	if err != nil {
		// Several consumers: quantize only this one.
		typ, qnt, qerr := c.activationQuant(n)
		if qerr != nil {
			return qerr
		}
		t = &outTarget{q: n, typ: typ, qnt: qnt}
	}
	if src := c.out.Tensors[v.tensor]; src.Type == t.typ && sameQuant(src.Quant, t.qnt) {
		c.vals[n.Output[0]] = v // the same qparams again: nothing to do
		return nil
	}
	out, _ := c.emitOut(t, v.shape, v.nhwc)
	c.addOp(OpQuantize, []int{v.tensor}, []int{out}, newOptions(OptQuantize))
	return nil
}

// handlers maps ONNX op types to their converters.
var handlers map[string]func(*converter, *onnxpb.NodeProto) error

func init() {
	handlers = map[string]func(*converter, *onnxpb.NodeProto) error{
		"Conv":              (*converter).conv,
		"ConvTranspose":     (*converter).convTranspose,
		"Gemm":              (*converter).gemm,
		"MatMul":            (*converter).matmul,
		"Add":               (*converter).binary,
		"Sub":               (*converter).binary,
		"Mul":               (*converter).binary,
		"Max":               (*converter).binary,
		"Min":               (*converter).binary,
		"Relu":              (*converter).clip,
		"Clip":              (*converter).clip,
		"MaxPool":           (*converter).pool,
		"AveragePool":       (*converter).pool,
		"GlobalAveragePool": (*converter).globalAveragePool,
		"Flatten":           (*converter).reshape,
		"Reshape":           (*converter).reshape,
		"Squeeze":           (*converter).reshape,
		"Unsqueeze":         (*converter).reshape,
		"Identity":          (*converter).identity,
		"Concat":            (*converter).concat,
		"Sigmoid":           (*converter).unary,
		"Tanh":              (*converter).unary,
		"HardSwish":         (*converter).unary,
		"LeakyRelu":         (*converter).unary,
		"HardSigmoid":       (*converter).hardSigmoid,
		"Softmax":           (*converter).softmax,
		"Transpose":         (*converter).transpose,
		"Resize":            (*converter).resize,
		"Pad":               (*converter).pad,
		"ReduceMean":        (*converter).reduce,
		"ReduceSum":         (*converter).reduce,
		"ReduceMin":         (*converter).reduce,
		"ReduceMax":         (*converter).reduceMax,
		"Exp":               (*converter).exp,
		"Log":               (*converter).exp,
		"Cast":              (*converter).cast,
		"Neg":               (*converter).neg,
		"Erf":               (*converter).erf,
		"Gelu":              (*converter).gelu,
		"Reciprocal":        (*converter).reciprocal,
		"DepthToSpace":      (*converter).depthToSpace,
		"SpaceToDepth":      (*converter).depthToSpace,
		"Pow":               (*converter).pow,
		"Sqrt":              (*converter).sqrt,
		"Slice":             (*converter).slice,
		"Split":             (*converter).split,
	}
}

// constTensor adds a quantized constant tensor.
func (c *converter) constTensor(name string, typ TensorType, shape []int32, vals []int64, q *Quant) int {
	return c.addTensor(&Tensor{Name: name, Type: typ, Shape: shape, Data: encode(typ, vals), Quant: q})
}

// int32Const adds an unquantized int32 constant (shapes, axes, paddings).
func (c *converter) int32Const(name string, shape []int32, vals []int64) int {
	return c.addTensor(&Tensor{Name: name, Type: Int32, Shape: shape, Data: encode(Int32, vals)})
}

func encode(typ TensorType, vals []int64) []byte {
	size := typ.Size()
	b := make([]byte, len(vals)*size)
	for i, v := range vals {
		switch size {
		case 1:
			b[i] = byte(v)
		case 2:
			binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
		case 4:
			binary.LittleEndian.PutUint32(b[4*i:], uint32(v))
		case 8:
			binary.LittleEndian.PutUint64(b[8*i:], uint64(v))
		}
	}
	return b
}

// ControlFlowError is returned for models that still hold If or Loop
// nodes: their conditions depend on the data, and TFLite has no NPU form
// for them.
type ControlFlowError struct {
	Nodes []string
}

func (e *ControlFlowError) Error() string {
	sort.Strings(e.Nodes)
	return fmt.Sprintf("data-dependent control flow has no NPU form in TFLite (Vela runs IF/WHILE on the CPU): %s; "+
		"export each If branch as its own model with --branch PATH (the conditional submodules `onnxquant inspect` lists, "+
		"e.g. If_0.then_branch), and choose between them on the host; a Loop has no such split: "+
		"deploy that model as QDQ ONNX with an ONNX runtime", strings.Join(e.Nodes, ", "))
}

func (e *ControlFlowError) Unwrap() error { return ErrUnsupported }

func controlFlow(g *onnxpb.GraphProto) []string {
	var out []string
	for _, n := range g.Node {
		switch n.GetOpType() {
		case "If", "Loop", "Scan":
			out = append(out, fmt.Sprintf("%s %q", n.GetOpType(), n.GetName()))
		}
	}
	return out
}
