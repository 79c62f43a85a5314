package quantize

import (
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/qpass"
)

// Target is everything the pipeline knows about the hardware a model is
// quantized for; the stages themselves are target-neutral. ethosu.Target
// implements it for every Ethos-U configuration.
type Target interface {
	// Name identifies the target in reports ("ethos-u55-128").
	Name() string
	// Decompositions are the composite operators the target cannot run as
	// one quantized operator, which the transform stage splits.
	Decompositions() qpass.Decompositions
	// AdjustConfig may replace the config chosen for a node where the
	// hardware supports fewer types than the config asks (int16 TABLE
	// ops at int8 on Ethos-U55). It returns cfg when nothing changes.
	AdjustConfig(n *lower.Node, cfg *qpass.Config) *qpass.Config
	// CheckOperators judges a float model after the transform passes by
	// the rules that do not depend on quantization, so a model the target
	// can never run fails before calibration.
	CheckOperators(gm *lower.GraphModule) *Report
	// Check judges every node of the QDQ model.
	Check(gm *lower.GraphModule) *Report
}

// FormChooser is a Target that can run some nodes either at int16 or at
// int8 under an int16 config (Ethos-U85's TABLE ops and activation ×
// activation MatMul), so that the choice can be made by measurement
// (choose-int16-forms) instead of by a fixed rule.
type FormChooser interface {
	// HasForms says whether any node can have both forms on this target.
	HasForms() bool
	// FormClass names the class of nodes n belongs to when both of its
	// forms are legal under cfg ("Sigmoid", "MatMul"), "" when n has no
	// choice (cfg is not int16, or the target has one form only).
	FormClass(n *lower.Node, cfg *qpass.Config) string
	// WithInt8Forms returns the same target running the nodes of these
	// classes at int8 under int16 configs and every other class at int16.
	WithInt8Forms(classes []string) Target
}
