package qpass

import (
	"fmt"

	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// Op families of the Arm annotator, in ONNX terms
// (../shared/docs/executorch-arm-quantizer.md §3).
var (
	// weightedOps take a constant weight (input 1) and optional bias
	// (input 2): per-channel int8 weights, derived int32 bias.
	weightedOps = set("Conv", "ConvTranspose", "Gemm", "MatMul")
	// binaryOps quantize each float input and the output independently.
	binaryOps = set("Add", "Sub", "Mul", "MatMul")
	// oneToOneOps have their own input and output qparams.
	oneToOneOps = set("Abs", "Ceil", "Erf", "Exp", "Floor", "Round", "Log", "Reciprocal", "Sqrt", "Sigmoid", "Tanh",
		"Cos", "Sin", "Tan", "Atan", "Asin", "Acos", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "HardSigmoid", "HardSwish",
		"LeakyRelu", "Gelu", "Elu", "Selu", "Celu", "Softplus", "Neg", "Pow", "Softmax", "LogSoftmax", "ReduceSum",
		"ReduceMax", "ReduceMin", "Div", "LayerNormalization", "GroupNormalization", "InstanceNormalization",
		"BatchNormalization", "CumSum", "PRelu")
	// sharedOps keep their input's qparams on their output (and all their
	// data inputs share one group).
	sharedOps = set("Concat", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Slice", "Split", "Pad",
		"MaxPool", "Relu", "Clip", "Identity", "Expand", "Tile", "Gather", "GatherElements", "GatherND", "ScatterElements",
		"ScatterND", "DepthToSpace", "SpaceToDepth", "Dropout", "Max", "Min", "Where")
	// sharedOutputOps observe their input and give the output the same
	// qparams: average pools and means.
	sharedOutputOps = set("AveragePool", "GlobalAveragePool", "ReduceMean", "Resize")
	// compareOps share input 1 with input 0 and leave the bool output.
	compareOps = set("Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual")
	// castOps keep their input's qparams when they cast float to float;
	// other casts are integer work.
	castOps = set("Cast")
	// indexOutputOps read a quantized input through its DequantizeLinear
	// and write integers: nothing of theirs needs qparams.
	indexOutputOps = set("ArgMax")
	// passThroughOps never compute on float data.
	passThroughOps = set("Shape", "Size", "ConstantOfShape", "Range", "NonZero", "QuantizeLinear", "DequantizeLinear",
		"Constant", "And", "Or", "Not", "Xor")
)

// AnnotatorFamilies lists, for every op type the annotator quantizes, the
// families it belongs to (weighted, binary, one-to-one, shared, shared
// output, compare, pass-through), so tests can hold the targets' operator
// tables and the interpreter to it.
func AnnotatorFamilies() map[string][]string {
	out := map[string][]string{}
	for _, f := range []struct {
		name string
		ops  map[string]bool
	}{{"weighted", weightedOps}, {"binary", binaryOps}, {"one-to-one", oneToOneOps}, {"shared", sharedOps},
		{"shared-output", sharedOutputOps}, {"compare", compareOps}, {"cast", castOps}, {"index-output", indexOutputOps},
		{"pass-through", passThroughOps}} {
		for op := range f.ops {
			out[op] = append(out[op], f.name)
		}
	}
	return out
}

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// dataInputs lists the inputs of a shared op that carry activations; the
// others (shapes, indices, pads, clip bounds) stay as they are.
func dataInputs(n *lower.Node) []int {
	switch n.Target.OpType {
	case "Concat", "Max", "Min":
		idx := make([]int, len(n.Inputs))
		for i := range idx {
			idx[i] = i
		}
		return idx
	case "Where":
		return []int{1, 2}
	case "ScatterElements", "ScatterND":
		return []int{0, 2}
	}
	return []int{0}
}

// Annotate decides, for every node of gm and its bodies, which tensors are
// quantized with which spec, following the Arm annotator: fused
// Conv/Gemm(+Relu/Relu6) groups, binary ops, one-to-one ops, shared-qparam
// ops, pools and means, comparisons. Graph inputs get the IO config (or the
// global one). Shapes and dtypes must have been inferred.
func Annotate(gm *lower.GraphModule, cs *ConfigSet) (*Annotation, error) {
	a := newAnnotation()
	if err := a.graph(gm, cs); err != nil {
		return nil, err
	}
	if cs.IO != nil {
		out := gm.Graph.OutputNode()
		for i, v := range out.Inputs {
			if isFloat(v) {
				a.input(out, i, cs.IO.InputActivation)
			}
		}
	}
	return a, nil
}

func (a *Annotation) graph(gm *lower.GraphModule, cs *ConfigSet) error {
	g := gm.Graph
	control := ControlValues(g)
	for _, n := range g.Nodes {
		if err := gm.Interrupted(); err != nil {
			return err
		}
		if IsControlNode(n, control) {
			// Conditions and trip counts stay exact (ControlValues).
			continue
		}
		switch n.Op {
		case lower.Placeholder:
			v := n.Outputs[0]
			if n.Capture {
				if outer := g.Outer.Value(v.Name); outer != nil && a.out[outer] != nil {
					a.out[v] = a.out[outer].Root()
				}
				continue
			}
			if !isFloat(v) {
				continue
			}
			cfg := cs.ForInput()
			if gm.Owner != nil {
				cfg = a.firstUserConfig(g, v, cs)
			}
			if cfg != nil && cfg.OutputActivation != nil {
				a.out[v] = a.newPoint(cfg.OutputActivation, Site{Kind: OutputSite, Value: v, Graph: g})
			}
		case lower.CallFunction:
			cfg, _ := cs.ForNode(n)
			if cfg == nil {
				continue
			}
			if err := a.node(n, cfg, cs); err != nil {
				return err
			}
		case lower.CallModule:
			for _, b := range n.Bodies {
				if err := a.graph(n.Body(b.Attr), cs); err != nil {
					return err
				}
			}
			cfg, _ := cs.ForNode(n)
			if cfg != nil {
				a.Quantized[n] = cfg
				for _, v := range n.Outputs {
					if isFloat(v) {
						a.output(v, cfg.OutputActivation)
					}
				}
			}
		}
	}
	return nil
}

// firstUserConfig is the config of the first node reading v, used for body
// inputs, which belong to no module of their own.
func (a *Annotation) firstUserConfig(g *lower.Graph, v *lower.Value, cs *ConfigSet) *Config {
	for _, u := range g.Users(v) {
		if u.Op == lower.CallFunction || u.Op == lower.CallModule {
			cfg, _ := cs.ForNode(u)
			return cfg
		}
	}
	return cs.Global
}

func (a *Annotation) node(n *lower.Node, cfg *Config, cs *ConfigSet) error {
	op := n.Target.OpType
	if n.Target.Domain != "" && n.Target.Domain != "ai.onnx" && n.Target.Domain != "com.microsoft" {
		return nil
	}
	if !hasFloat(n) || passThroughOps[op] || indexOutputOps[op] {
		return nil
	}
	switch {
	case weightedOps[op] && isWeight(n, 1):
		return a.weighted(n, cfg, cs)
	case a.Fused[n]:
		// The producer left its output unquantized for this activation.
		a.Quantized[n] = cfg
		a.output(n.Outputs[0], cfg.OutputActivation)
	case binaryOps[op] || oneToOneOps[op]:
		a.Quantized[n] = cfg
		for i, v := range n.Inputs {
			if isFloat(v) && !(op == "Pow" && i == 1 && v.IsInitializer(lower.EnclosingGraphs)) {
				a.input(n, i, cfg.InputActivation)
			}
		}
		for _, v := range n.Outputs {
			if isFloat(v) {
				a.output(v, cfg.OutputActivation)
			}
		}
	case sharedOps[op]:
		a.Quantized[n] = cfg
		var group *Point
		for _, i := range dataInputs(n) {
			if i >= len(n.Inputs) || !isFloat(n.Inputs[i]) {
				continue
			}
			p := a.input(n, i, cfg.InputActivation)
			if group == nil {
				group = p
			} else if p.Spec.Key() == group.Spec.Key() {
				group = a.union(group, p)
			}
		}
		for _, v := range n.Outputs {
			if isFloat(v) {
				a.sharedOutput(v, group, cfg)
			}
		}
	case sharedOutputOps[op]:
		a.Quantized[n] = cfg
		p := a.input(n, 0, cfg.InputActivation)
		a.sharedOutput(n.Outputs[0], p, cfg)
	case compareOps[op]:
		a.Quantized[n] = cfg
		p := a.input(n, 0, cfg.InputActivation)
		if len(n.Inputs) > 1 && isFloat(n.Inputs[1]) {
			q := a.input(n, 1, cfg.InputActivation)
			if p != nil && q != nil && p.Spec.Key() == q.Spec.Key() {
				a.union(p, q)
			}
		}
	case castOps[op]:
		// int -> float casts get fixed qparams in ExecuTorch; float ->
		// float keeps the input's. Others are integer work.
		if isFloat(n.Outputs[0]) && isFloat(n.Inputs[0]) {
			a.Quantized[n] = cfg
			p := a.input(n, 0, cfg.InputActivation)
			a.sharedOutput(n.Outputs[0], p, cfg)
		}
	}
	return nil
}

// weighted annotates Conv/ConvTranspose/Gemm/MatMul with a constant
// weight, fusing a following Relu or Relu6 when activations are
// asymmetric.
func (a *Annotation) weighted(n *lower.Node, cfg *Config, cs *ConfigSet) error {
	a.Quantized[n] = cfg
	in := a.input(n, 0, cfg.InputActivation)
	axis, err := weightAxis(n)
	if err != nil {
		return err
	}
	w := n.Inputs[1].Source()
	wp := a.out[w]
	if wp == nil || wp.Root().Axis != axis || wp.Root().Spec.Key() != cfg.Weight.Key() {
		wp = a.newPoint(cfg.Weight, Site{Kind: OutputSite, Value: w, Graph: w.Producer.Graph()})
		wp.Axis = axis
		if a.out[w] == nil {
			a.out[w] = wp
		} else {
			wp.Sites[0] = Site{Kind: EdgeSite, Value: w, Graph: n.Graph(), Consumer: n, Input: 1}
		}
	}
	a.edge[edgeKey{n, 1}] = wp.Root()
	if len(n.Inputs) > 2 && n.Inputs[2] != nil && isFloat(n.Inputs[2]) && in != nil {
		b := n.Inputs[2].Source()
		if !b.IsInitializer(lower.EnclosingGraphs) {
			return fmt.Errorf("node %q (%s): bias %q is not a constant", n.Meta.SourceName, n.Target.OpType, b.Name)
		}
		bp := a.newPoint(&QSpec{DType: int32(onnxpb.TensorProto_INT32), QMin: cfg.BiasQMin, QMax: cfg.BiasQMax, Symmetric: true, PerChannel: wp.Root().Spec.PerChannel},
			Site{Kind: EdgeSite, Value: b, Graph: n.Graph(), Consumer: n, Input: 2})
		bp.BiasInput, bp.BiasWeight = in, wp.Root()
		a.edge[edgeKey{n, 2}] = bp
	}
	if act := fusableActivation(n, cfg, cs); act != nil {
		a.Fused[act] = true
		return nil
	}
	a.output(n.Outputs[0], cfg.OutputActivation)
	return nil
}

// fusableActivation returns the Relu or Relu6-style Clip that reads only
// n's output and can be fused into it, or nil.
func fusableActivation(n *lower.Node, cfg *Config, cs *ConfigSet) *lower.Node {
	if cfg.symmetricActivations() {
		return nil
	}
	users := n.Graph().Users(n.Outputs[0])
	if len(users) != 1 || users[0].Op != lower.CallFunction || n.Outputs[0].IsGraphOutput() {
		return nil
	}
	u := users[0]
	if ucfg, _ := cs.ForNode(u); ucfg != cfg {
		return nil
	}
	switch u.Target.OpType {
	case "Relu":
		return u
	case "Clip":
		if clipMin(u) == 0 {
			return u
		}
	}
	return nil
}

// clipMin returns the lower bound of a Clip, or -1 when it is not a known
// constant.
func clipMin(n *lower.Node) float32 {
	if n.Target.Version < 11 {
		return n.AttrFloat("min", -1)
	}
	if len(n.Inputs) < 2 || n.Inputs[1] == nil || !n.Inputs[1].IsInitializer(lower.EnclosingGraphs) {
		return -1
	}
	vals, err := onnxio.Float32s(n.Inputs[1].Producer.Initializer, n.Graph().Module.Root().Dir)
	if err != nil || len(vals) != 1 {
		return -1
	}
	return vals[0]
}

// weightAxis is the output-channel axis of a weight: 0 for Conv and for
// Gemm with transB, 1 for ungrouped ConvTranspose, Gemm without transB and
// MatMul.
func weightAxis(n *lower.Node) (int, error) {
	switch n.Target.OpType {
	case "Conv":
		return 0, nil
	case "ConvTranspose":
		if n.AttrInt("group", 1) == 1 {
			return 1, nil
		}
		return 0, nil
	case "Gemm":
		if n.AttrInt("transB", 0) == 1 {
			return 0, nil
		}
		return 1, nil
	case "MatMul":
		w := n.Inputs[1]
		if !w.HasShape || len(w.Shape) != 2 {
			return 0, fmt.Errorf("node %q (MatMul): constant weight %q must be 2-D", n.Meta.SourceName, w.Name)
		}
		return 1, nil
	}
	return 0, fmt.Errorf("node %q (%s): not a weighted op", n.Meta.SourceName, n.Target.OpType)
}

// input gives consumer n's input i the spec: the producer's point when it
// quantizes identically, else a point of its own on that edge.
func (a *Annotation) input(n *lower.Node, i int, spec *QSpec) *Point {
	v := n.Inputs[i]
	if v == nil || spec == nil {
		return nil
	}
	if ov := v.Source(); ov != v {
		// A body reading an outer value: quantize it where it is made,
		// the only place an observer sees it; the body's capture then
		// reads the dequantized tensor.
		if a.out[ov] == nil {
			a.out[ov] = a.newPoint(spec, Site{Kind: OutputSite, Value: ov, Graph: ov.Producer.Graph()})
		}
		a.out[v] = a.out[ov]
	}
	if p := a.out[v]; p != nil {
		p = p.Root()
		if p.Spec.Key() == spec.Key() {
			a.edge[edgeKey{n, i}] = p
			return p
		}
		q := a.newPoint(spec, Site{Kind: EdgeSite, Value: v, Graph: n.Graph(), Consumer: n, Input: i})
		a.edge[edgeKey{n, i}] = q
		return q
	}
	p := a.newPoint(spec, Site{Kind: OutputSite, Value: v, Graph: v.Producer.Graph()})
	a.out[v] = p
	a.edge[edgeKey{n, i}] = p
	return p
}

// output quantizes v where it is produced.
func (a *Annotation) output(v *lower.Value, spec *QSpec) {
	if v == nil || spec == nil || a.out[v] != nil {
		return
	}
	a.out[v] = a.newPoint(spec, Site{Kind: OutputSite, Value: v, Graph: v.Producer.Graph()})
}

// sharedOutput quantizes v with the qparams of p.
func (a *Annotation) sharedOutput(v *lower.Value, p *Point, cfg *Config) {
	if p == nil {
		a.output(v, cfg.OutputActivation)
		return
	}
	if a.out[v] != nil {
		return
	}
	p = p.Root()
	p.Sites = append(p.Sites, Site{Kind: OutputSite, Value: v, Graph: v.Producer.Graph()})
	a.out[v] = p
}

func isFloat(v *lower.Value) bool {
	return v != nil && v.DType == int32(onnxpb.TensorProto_FLOAT)
}

func hasFloat(n *lower.Node) bool {
	for _, v := range n.Inputs {
		if isFloat(v) {
			return true
		}
	}
	for _, v := range n.Outputs {
		if isFloat(v) {
			return true
		}
	}
	return false
}

// isWeight reports whether input i of n is a float initializer.
func isWeight(n *lower.Node, i int) bool {
	return i < len(n.Inputs) && n.Inputs[i].IsInitializer(lower.EnclosingGraphs) && isFloat(n.Inputs[i])
}
