package lower

import (
	"fmt"
	"math"
)

// DecomposeAttention replaces an Attention node (opset 23) by the scaled
// dot-product attention it is defined by:
// Softmax(Q·Kᵀ·scale + mask)·V, per head, with scale 1/sqrt(head size)
// unless given. A 3-D Q, K, V ((batch, sequence, heads·head size), with
// q_num_heads and kv_num_heads) is split into heads and the result merged
// back; a float attn_mask is added to the scores. When the node asks for
// present_key and present_value they are K and V in 4-D form (there is no
// past to concatenate).
//
// What the rewrite does not write is left to the caller
// (ErrNotDecomposable): past key/value inputs, is_causal, a boolean mask
// (both put −∞ into the scores, which no quantization grid holds),
// softcap, grouped-query heads (kv_num_heads below q_num_heads), the
// qk_matmul_output output, and inputs whose rank or head size is unknown.
func DecomposeAttention(n *Node, opset int64) error {
	in := func(i int) *Value {
		if i < len(n.Inputs) {
			return n.Inputs[i]
		}
		return nil
	}
	q, k, v, mask := in(0), in(1), in(2), in(3)
	switch {
	case q == nil || k == nil || v == nil:
		return fmt.Errorf("Q, K and V are required: %w", ErrNotDecomposable)
	case in(4) != nil || in(5) != nil:
		return fmt.Errorf("past key and value inputs: %w", ErrNotDecomposable)
	case n.AttrInt("is_causal", 0) != 0:
		return fmt.Errorf("is_causal: %w", ErrNotDecomposable)
	case n.AttrFloat("softcap", 0) != 0:
		return fmt.Errorf("softcap: %w", ErrNotDecomposable)
	case len(n.Outputs) > 3 && n.Outputs[3] != nil:
		return fmt.Errorf("the qk_matmul_output output: %w", ErrNotDecomposable)
	case mask != nil && valueDType(mask) != dtFloat:
		return fmt.Errorf("a mask that is not float32: %w", ErrNotDecomposable)
	}
	for _, x := range []*Value{q, k, v} {
		if err := needFloat(x); err != nil {
			return err
		}
		if !x.HasShape || (len(x.Shape) != 3 && len(x.Shape) != 4) || !x.Shape[len(x.Shape)-1].Known() {
			return fmt.Errorf("needs Q, K and V of known rank 3 or 4 with a known last axis: %w", ErrNotDecomposable)
		}
	}
	rank := len(q.Shape)
	if len(k.Shape) != rank || len(v.Shape) != rank {
		return fmt.Errorf("Q, K and V of different ranks: %w", ErrNotDecomposable)
	}
	head := q.Shape[rank-1].Value
	if rank == 4 {
		if !q.Shape[1].Known() || !k.Shape[1].Known() || q.Shape[1].Value != k.Shape[1].Value || k.Shape[1].Value != v.Shape[1].Value {
			return fmt.Errorf("grouped or unknown head counts: %w", ErrNotDecomposable)
		}
	} else {
		qh, kvh := n.AttrInt("q_num_heads", 0), n.AttrInt("kv_num_heads", 0)
		if qh <= 0 || kvh != qh || head%qh != 0 || k.Shape[2].Value%kvh != 0 || v.Shape[2].Value%kvh != 0 {
			return fmt.Errorf("3-D inputs need q_num_heads = kv_num_heads dividing their last axes: %w", ErrNotDecomposable)
		}
		head /= qh
	}
	scale := n.AttrFloat("scale", 0)
	if scale == 0 {
		scale = float32(1 / math.Sqrt(float64(head)))
	}

	e := NewEmitter(n, opset)
	heads := func(x *Value, name string) *Value {
		if rank == 4 {
			return x
		}
		h := n.AttrInt("q_num_heads", 0)
		r := e.Op("Reshape", []*Value{x, e.Ints(name+"_heads", []int64{4}, []int64{0, 0, h, -1})})
		return e.Op("Transpose", []*Value{r}, IntsAttr("perm", 0, 2, 1, 3))
	}
	q4, k4, v4 := heads(q, "q"), heads(k, "k"), heads(v, "v")
	kt := e.Op("Transpose", []*Value{k4}, IntsAttr("perm", 0, 1, 3, 2))
	scores := e.Op("MatMul", []*Value{q4, kt})
	scores = e.Op("Mul", []*Value{scores, e.Scalar("scale", scale, 4)})
	if mask != nil {
		scores = e.Op("Add", []*Value{scores, mask})
	}
	probs := e.Op("Softmax", []*Value{scores}, IntAttr("axis", -1))
	y := e.Op("MatMul", []*Value{probs, v4})
	if rank == 3 {
		y = e.Op("Transpose", []*Value{y}, IntsAttr("perm", 0, 2, 1, 3))
		y = e.Op("Reshape", []*Value{y, e.Ints("merge_heads", []int64{3}, []int64{0, 0, -1})})
	}
	e.Replace(0, y)
	if len(n.Outputs) > 1 && n.Outputs[1] != nil {
		e.Replace(1, e.Op("Identity", []*Value{k4}))
	}
	if len(n.Outputs) > 2 && n.Outputs[2] != nil {
		e.Replace(2, e.Op("Identity", []*Value{v4}))
	}
	e.Done()
	return nil
}
