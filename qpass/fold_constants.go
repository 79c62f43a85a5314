package qpass

import "github.com/onnxquant/onnxquant/lower"

const foldConstantsDoc = `Evaluate computations on constants and turn Constant nodes into initializers.

ExecuTorch runs ConstantFoldingPass first so later passes and the quantizer
see constants as constants: BatchNormalization statistics, scalar operands
and weights computed by small subgraphs become initializers that can be
folded into weights or observed as weight-like tensors.`

// FoldConstants runs lower.FoldConstants over gm and its bodies.
func FoldConstants(gm *lower.GraphModule, _ *PassContext) (bool, error) {
	return lower.FoldConstants(gm)
}
