package ethosu

import (
	"github.com/onnxquant/onnxquant/calib/observe"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
	"github.com/onnxquant/onnxquant/qpass"
	"github.com/onnxquant/onnxquant/quantize"
)

// The legality types are the pipeline's; these aliases keep the documented
// errors.As(err, *ethosu.IllegalModelError) and ethosu.Report working.
type (
	// Placement says where a node of a quantized model runs.
	Placement = quantize.Placement
	// Verdict is the legality of one node.
	Verdict = quantize.Verdict
	// Report is the per-node legality of a model for one target.
	Report = quantize.Report
	// IllegalModelError lists every node the target cannot run.
	IllegalModelError = quantize.IllegalModelError
	// Result is a quantized model and what was learnt making it.
	Result = quantize.Result
)

// The placements a verdict can give.
const (
	OnNPU    = quantize.OnNPU
	OnHost   = quantize.OnHost
	Boundary = quantize.Boundary
)

// Target is an Ethos-U configuration as the quantization pipeline sees it
// (quantize.Target): its decompositions, its config adjustments, and its
// legality rules.
type Target struct {
	spec  CompileSpec
	table map[string]bool
	// int8 memoises the int8 stand-ins of int16 configs, so every node
	// that needs one shares it (and its qparams stay shareable).
	int8 map[*qpass.Config]*qpass.Config
	// int8Forms are the classes (FormClass) run at int8 under int16
	// configs where the target has both forms; nil is the fixed rule
	// (int8Preferred), used when no measurement chose them.
	int8Forms map[string]bool
}

// NewTarget returns the pipeline's view of spec. A Target memoises config
// adjustments: use one per quantization run.
func NewTarget(spec CompileSpec) *Target {
	return &Target{spec: spec, table: tableOps(), int8: map[*qpass.Config]*qpass.Config{}}
}

// Name is the target string ("ethos-u55-128").
func (t *Target) Name() string { return t.spec.Target }

// Decompositions: softmax on every Ethos-U (the TOSA path has no native
// softmax); reflect/edge/wrap padding on U55/U65, which have no mirror
// padding but run its Slice (REVERSE) and Concat pieces; U85 has
// MIRROR_PAD and keeps the Pad.
func (t *Target) Decompositions() qpass.Decompositions {
	return qpass.Decompositions{Softmax: true, ReflectPad: t.spec.U55Subset()}
}

// AdjustConfig runs TABLE ops and activation×activation MatMul at int8 on
// U55/U65, whose TABLE and MATMUL have no int16 form; the int16 tensors
// around them are requantized.
func (t *Target) AdjustConfig(n *lower.Node, cfg *qpass.Config) *qpass.Config {
	if cfg.OutputActivation == nil || cfg.OutputActivation.DType != int32(onnxpb.TensorProto_INT16) {
		return cfg
	}
	op := n.Target.OpType
	actMatMul := isActivationMatMul(n)
	switch {
	case t.spec.U55Subset() && t.table[op]:
		return t.int8Config(cfg, "(int8 on "+string(t.spec.Family())+": rule table-int8)")
	case t.spec.U55Subset() && actMatMul:
		return t.int8Config(cfg, "(int8 on "+string(t.spec.Family())+": rule activation-matmul-int8)")
	case t.int8Forms == nil && int8Preferred[op]:
		return t.int8Config(cfg, "(int8 "+op+")")
	case t.int8Forms != nil && t.int8Forms[t.class(n)]:
		return t.int8Config(cfg, "(int8 "+t.class(n)+", measured)")
	}
	return cfg
}

// isActivationMatMul reports a MatMul of two activations (TOSA MATMUL);
// with a constant operand it is a fully connected layer.
func isActivationMatMul(n *lower.Node) bool {
	return n.Target.OpType == "MatMul" && len(n.Inputs) > 1 && n.Inputs[0] != nil && n.Inputs[1] != nil &&
		!n.Inputs[0].IsInitializer(lower.EnclosingGraphs) && !n.Inputs[1].IsInitializer(lower.EnclosingGraphs)
}

// class is the form class of n: its op type for a TABLE op, "MatMul" for
// an activation × activation MatMul, "" otherwise.
func (t *Target) class(n *lower.Node) string {
	switch {
	case t.table[n.Target.OpType]:
		return n.Target.OpType
	case isActivationMatMul(n):
		return "MatMul"
	}
	return ""
}

// FormClass is the class of n when both its int8 and int16 forms are
// legal under cfg: TABLE ops and activation × activation MatMul on
// Ethos-U85 (Limits.Int16Tables and Limits.Int16ActivationMatMul), under
// an int16 config.
func (t *Target) FormClass(n *lower.Node, cfg *qpass.Config) string {
	if cfg == nil || cfg.OutputActivation == nil || cfg.OutputActivation.DType != int32(onnxpb.TensorProto_INT16) {
		return ""
	}
	lim := t.spec.Limits()
	switch c := t.class(n); {
	case c == "MatMul" && lim.Int16ActivationMatMul, c != "" && c != "MatMul" && lim.Int16Tables:
		return c
	}
	return ""
}

// HasForms: Ethos-U85 runs TABLE ops and activation × activation MatMul
// at int8 or int16.
func (t *Target) HasForms() bool {
	lim := t.spec.Limits()
	return lim.Int16Tables || lim.Int16ActivationMatMul
}

// WithInt8Forms is the target running the nodes of these classes at int8
// under int16 configs, the others at int16 (choose-int16-forms).
func (t *Target) WithInt8Forms(classes []string) quantize.Target {
	c := NewTarget(t.spec)
	c.int8Forms = map[string]bool{}
	for _, k := range classes {
		c.int8Forms[k] = true
	}
	return c
}

// int8Preferred are the TABLE ops every target runs at int8 even under an
// int16 config, where U85 could run them at int16. A Log's input grid
// always holds 0, where Log is −∞: small inputs that round to 0 come out
// at the output grid's lower end. The symmetric int16 grid's lower end is
// −max(|min|, |max|), far below a Log whose outputs are mostly positive
// (Silero's Log(|X|·2^20 + 1) ≥ 0 reads −16 there), while the asymmetric
// int8 grid ends at the observed minimum. Measured on Silero (a16w8 on
// U85, hn 3.4 dB with an int16 Log against 5.8 dB on U55, whose Log is
// int8), docs/accuracy.md.
// It applies only where choose-int16-forms did not measure the choice
// (quantizing from stats, or with the minmax or histogram observer).
var int8Preferred = map[string]bool{"Log": true}

// int8Config is the int8 config that replaces cfg for a node, one per cfg
// so that nodes sharing a config share the replacement.
func (t *Target) int8Config(cfg *qpass.Config, why string) *qpass.Config {
	if t.int8[cfg] == nil {
		c := *qpass.SymmetricInt8(cfg.Weight != nil && cfg.Weight.PerChannel, cfg.OutputActivation.Observer == observe.KindMovingAverageMinMax)
		c.Name = cfg.Name + why
		t.int8[cfg] = &c
	}
	return t.int8[cfg]
}

// CheckOperators judges the operators of a float model (after the
// transform passes) by the rules that do not depend on quantization.
func (t *Target) CheckOperators(gm *lower.GraphModule) *Report { return CheckOperators(gm, t.spec) }

// Check judges every node of a QDQ model.
func (t *Target) Check(gm *lower.GraphModule) *Report { return Check(gm, t.spec) }

var (
	_ quantize.Target      = (*Target)(nil)
	_ quantize.FormChooser = (*Target)(nil)
)
