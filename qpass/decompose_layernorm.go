package qpass

import (
	"errors"

	"github.com/onnxquant/onnxquant/lower"
)

const decomposeLayerNormDoc = `Decompose LayerNormalization, GroupNormalization, InstanceNormalization and RMSNormalization into reductions and elementwise ops.

Ethos-U has no normalisation operator, so, as ExecuTorch's
DecomposeLayerNormPass and DecomposeGroupNormPass do, each becomes
mean = ReduceMean(x), d = x - mean, var = ReduceMean(d*d),
inv = Pow(var + eps, -0.5), y = d*inv*gamma + beta, and every piece gets its
own quantization parameters. ONNX has no Rsqrt; Pow with a constant -0.5
exponent is one table lookup once quantized, where Sqrt then Reciprocal would
be two. GroupNormalization normalises a (N, groups, -1) reshape of x;
InstanceNormalization is normalisation over the spatial axes;
RMSNormalization (opset 23) is x * Pow(ReduceMean(x*x) + eps, -0.5) * scale,
the same pieces without the mean.`

// DecomposeLayerNorm decomposes the normalisation operators. The rewrites
// live in package lower, which an opset downgrade also uses; a node they do
// not apply to (unknown rank, non-constant per-channel parameters) stays.
func DecomposeLayerNorm(gm *lower.GraphModule, ctx *PassContext) (bool, error) {
	return eachNode(gm, func(n *lower.Node) (bool, error) {
		if n.Target.Domain != "" || len(n.Inputs) == 0 || !ctx.quantized(n) || !floatTyped(n.Inputs[0]) {
			return false, nil
		}
		var decompose func(*lower.Node, int64) error
		switch n.Target.OpType {
		case "LayerNormalization":
			decompose = lower.DecomposeLayerNorm
		case "GroupNormalization":
			decompose = lower.DecomposeGroupNorm
		case "InstanceNormalization":
			decompose = lower.DecomposeInstanceNorm
		case "RMSNormalization":
			decompose = lower.DecomposeRMSNorm
		default:
			return false, nil
		}
		err := decompose(n, n.Graph().Module.Opset(""))
		if errors.Is(err, lower.ErrNotDecomposable) {
			return false, nil
		}
		return err == nil, err
	})
}
