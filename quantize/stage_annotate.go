package quantize

import (
	"context"

	"github.com/onnxquant/onnxquant/qpass"
)

const annotateDoc = `Decide the quantization points of every graph and conditional submodule.

The Arm annotator's rules (qpass.Annotate): fused Conv/Gemm+activation
groups, shared qparams through data movement and Concat, per-channel
weights and derived biases, with the config each node's precedence picks.`

func annotate(_ context.Context, s *Session) (err error) {
	s.Annotation, err = qpass.Annotate(s.Module, s.Configs)
	return err
}
