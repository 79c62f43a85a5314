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
