package qpass

import (
	"fmt"
	"slices"

	"github.com/onnxquant/onnxquant/lower"
)

const scalarsToTensorsDoc = `Make scalar constant operands of Add, Sub, Mul and Div initializers shaped [1,...,1] of the other operand's rank.

A scalar written as a Constant node, a 0-d initializer or a capture of an
outer constant is a tensor the observers would not see as a weight-like
constant of the operator. As ExecuTorch's ScalarsToAttributePass turns
literal scalars into get_attr buffers, each becomes an initializer of the
operator's own graph with the rank of the other operand, so it broadcasts
to the same output shape and is observed and quantized as a tensor.`

var scalarOps = []string{"Add", "Sub", "Mul", "Div"}

// ScalarsToTensors rewrites scalar constant operands of binary arithmetic.
func ScalarsToTensors(gm *lower.GraphModule, ctx *PassContext) (bool, error) {
	type key struct {
		src  *lower.Value
		rank int
	}
	return eachGraph(gm, func(g *lower.Graph) (bool, error) {
		made := map[key]*lower.Value{}
		changed := false
		for _, n := range slices.Clone(g.Nodes) {
			if err := g.Module.Interrupted(); err != nil {
				return changed, err
			}
			if n.Op != lower.CallFunction || n.Target.Domain != "" || !slices.Contains(scalarOps, n.Target.OpType) || len(n.Inputs) != 2 {
				continue
			}
			if !ctx.quantized(n) {
				continue
			}
			for i, in := range n.Inputs {
				other := n.Inputs[1-i]
				v, ok := constScalar(in)
				if !ok {
					continue
				}
				if _, _, otherConst := other.Constant(); otherConst || !floatTyped(other) {
					continue
				}
				rank := len(constDims(in))
				if r, ok := rankOf(other); ok && r > rank {
					rank = r
				}
				p := in.Producer
				if p.Op == lower.GetAttr && p.Graph() == g && len(p.Initializer.Dims) == rank {
					continue // already an initializer of this graph, rank-matched
				}
				k := key{in, rank}
				t := made[k]
				if t == nil {
					t = g.NewInitializer(fmt.Sprintf("%s_%s_scalar", n.Meta.SourceName, n.Target.OpType), floatTensor(ones(rank), []float32{v}))
					made[k] = t
				}
				n.SetInput(i, t)
				changed = true
			}
		}
		return changed, nil
	})
}
