package qpass

import (
	"errors"

	"github.com/onnxquant/onnxquant/lower"
)

const decomposeAttentionDoc = `Decompose Attention (opset 23) into MatMul, Mul, Add, Softmax and MatMul.

Ethos-U has no attention operator; written out, as exporters wrote attention
before opset 23, each product gets its own quantization parameters and the
Softmax is decomposed like any other. Forms that put −∞ into the scores
(is_causal, a boolean mask), past key/value inputs, softcap and grouped heads
stay, and the legality check names the node.`

// DecomposeAttention decomposes the Attention nodes that will be
// quantized and that lower.DecomposeAttention writes.
func DecomposeAttention(gm *lower.GraphModule, ctx *PassContext) (bool, error) {
	return eachNode(gm, func(n *lower.Node) (bool, error) {
		if n.Target.Domain != "" || n.Target.OpType != "Attention" || !ctx.quantized(n) || !floatTyped(n.Inputs[0]) {
			return false, nil
		}
		err := lower.DecomposeAttention(n, n.Graph().Module.Opset(""))
		if errors.Is(err, lower.ErrNotDecomposable) {
			return false, nil
		}
		return err == nil, err
	})
}
