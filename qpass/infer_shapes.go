package qpass

import "github.com/onnxquant/onnxquant/lower"

const inferShapesDoc = `Infer the dtype and shape of every value, so passes know ranks, channel counts and sequence lengths.

Decompositions need facts the model rarely declares for intermediate values:
the rank a broadcast constant must match, the channel count of a
BatchNormalization, the static sequence length an LSTM is unrolled over.
ctx.InputShapes fixes symbolic input dimensions (a batch of 1, say).`

// InferShapes runs lower.InferShapes with ctx.InputShapes. It reports no
// change: shapes are facts about the graph, not a rewrite of it.
func InferShapes(gm *lower.GraphModule, ctx *PassContext) (bool, error) {
	var shapes map[string][]int64
	if ctx != nil {
		shapes = ctx.InputShapes
	}
	return false, lower.InferShapes(gm, shapes)
}
