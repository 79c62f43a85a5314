package qpass

import (
	"errors"

	"github.com/onnxquant/onnxquant/lower"
)

const decomposeRotaryEmbeddingDoc = `Decompose RotaryEmbedding (opset 23) into Split, Mul, Sub, Add and Concat.

Ethos-U has no rotary operator. Each head's first rotary_embedding_dim values
are split into pairs (halves, or even and odd positions when interleaved,
gathered by a constant 0/1 MatMul) and rotated by the cos and sin caches,
gathered at position_ids (constant caches and positions fold), so every
product and sum gets its own quantization parameters; the rest of the head
passes through.`

// DecomposeRotaryEmbedding decomposes RotaryEmbedding nodes that will be
// quantized; one whose rank or head size is unknown stays, and the
// legality check names it.
func DecomposeRotaryEmbedding(gm *lower.GraphModule, ctx *PassContext) (bool, error) {
	return eachNode(gm, func(n *lower.Node) (bool, error) {
		if n.Target.Domain != "" || n.Target.OpType != "RotaryEmbedding" || !ctx.quantized(n) || !floatTyped(n.Inputs[0]) {
			return false, nil
		}
		err := lower.DecomposeRotaryEmbedding(n, n.Graph().Module.Opset(""))
		if errors.Is(err, lower.ErrNotDecomposable) {
			return false, nil
		}
		return err == nil, err
	})
}
