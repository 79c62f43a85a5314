package quantize

import (
	"context"

	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
	"github.com/onnxquant/onnxquant/qpass"
)

const transformDoc = `Run the transform-for-annotation passes (qpass.TransformForAnnotationPasses).

Fold constants and BatchNormalization, raise the opset the QDQ form needs,
split the composite operators the target cannot run as one quantized
operator (only in nodes that will be quantized) and make scalar operands
observable tensors. --dump-after also accepts the name of each pass.`

func transform(_ context.Context, s *Session) error {
	return qpass.RunPasses(s.Module, qpass.TransformForAnnotationPasses(), s.PassContext())
}

// PassContext is what the transform passes know of the session: which
// nodes will be quantized, the target's decompositions and the opset the
// QDQ form needs (21 when any activation is int16, else 13).
func (s *Session) PassContext() *qpass.PassContext {
	target := int64(13)
	if usesInt16(s.Configs) {
		target = 21
	}
	ctx := &qpass.PassContext{
		ShouldQuantize: func(n *lower.Node) bool {
			cfg, _ := s.Configs.ForNode(n)
			return cfg != nil
		},
		NeedsDecomposition: s.Target.Decompositions(),
		TargetOpset:        target,
		EqualizeCrossLayer: s.Options.Accuracy.EqualizeCrossLayer,
		Log:                s.Options.Log,
		Verify:             s.Options.Verify,
	}
	for _, p := range qpass.TransformForAnnotationPasses() {
		if p.Name == s.Options.DumpAfter {
			ctx.DumpAfter = p.Name
		}
	}
	return ctx
}

// usesInt16 reports whether any config quantizes activations to int16,
// which needs opset 21's QuantizeLinear.
func usesInt16(cs *qpass.ConfigSet) bool {
	all := []*qpass.Config{cs.Global, cs.IO}
	for _, c := range cs.ModuleName {
		all = append(all, c)
	}
	for _, c := range cs.ModuleType {
		all = append(all, c)
	}
	for _, c := range cs.NodeName {
		all = append(all, c)
	}
	for _, c := range all {
		if c != nil && c.OutputActivation != nil && c.OutputActivation.DType == int32(onnxpb.TensorProto_INT16) {
			return true
		}
	}
	return false
}
