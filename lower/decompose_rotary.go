package lower

import "fmt"

// DecomposeRotaryEmbedding replaces a RotaryEmbedding node (opset 23) by
// the elementwise rotation it is defined by. With r = rotary_embedding_dim/2,
// the first rotary_embedding_dim values of each head are split into pairs
// (x1, x2): the halves [0, r) and [r, 2r), or, when interleaved, the even
// and odd positions. Each pair is rotated by the position's angle,
// x1*cos - x2*sin and x1*sin + x2*cos, and the values past
// rotary_embedding_dim pass through.
//
// The caches are gathered at position_ids when it is given (a constant
// Gather folds), and broadcast over the heads: a 4-D input is
// (batch, heads, sequence, head_size), a 3-D input (batch, sequence,
// hidden) is reshaped to (batch, sequence, num_heads, head_size) and back.
// Interleaved pairs are brought together and put back by MatMuls with
// constant 0/1 permutation matrices, which an int8 per-channel weight
// represents exactly; everything else is Split, Mul, Sub, Add and Concat,
// which Ethos-U runs. The rank and the head size must be known.
func DecomposeRotaryEmbedding(n *Node, opset int64) error {
	if len(n.Inputs) < 3 || n.Inputs[1] == nil || n.Inputs[2] == nil {
		return fmt.Errorf("cos_cache and sin_cache are required: %w", ErrNotDecomposable)
	}
	x, cosC, sinC := n.Inputs[0], n.Inputs[1], n.Inputs[2]
	var pos *Value
	if len(n.Inputs) > 3 {
		pos = n.Inputs[3]
	}
	if err := needFloat(x); err != nil {
		return err
	}
	if !x.HasShape || (len(x.Shape) != 3 && len(x.Shape) != 4) || !x.Shape[len(x.Shape)-1].Known() {
		return fmt.Errorf("needs an input of known rank 3 or 4 with a known last axis: %w", ErrNotDecomposable)
	}
	rank := len(x.Shape)
	last := x.Shape[rank-1].Value
	heads := n.AttrInt("num_heads", 0)
	head := last
	if rank == 3 {
		if heads <= 0 || last%heads != 0 {
			return fmt.Errorf("a 3-D input needs num_heads dividing its hidden size %d (num_heads=%d): %w", last, heads, ErrNotDecomposable)
		}
		head = last / heads
	}
	rd := n.AttrInt("rotary_embedding_dim", 0)
	if rd == 0 {
		rd = head
	}
	if rd <= 0 || rd > head || rd%2 != 0 {
		return fmt.Errorf("rotary_embedding_dim %d for head size %d: %w", rd, head, ErrNotDecomposable)
	}
	r := rd / 2
	interleaved := n.AttrInt("interleaved", 0) != 0

	e := NewEmitter(n, opset)
	xs := x
	headAxis := int64(1) // where cos/sin broadcast over the heads
	if rank == 3 {
		xs = e.Op("Reshape", []*Value{x, e.Ints("heads_shape", []int64{4}, []int64{0, 0, heads, head})})
		headAxis = 2
	}
	cos, sin := cosC, sinC
	if pos != nil {
		cos = e.Op("Gather", []*Value{cosC, pos}, IntAttr("axis", 0))
		sin = e.Op("Gather", []*Value{sinC, pos}, IntAttr("axis", 0))
	}
	cos = e.Unsqueeze(cos, headAxis)
	sin = e.Unsqueeze(sin, headAxis)

	sizes := []int64{rd}
	if rd < head {
		sizes = append(sizes, head-rd)
	}
	parts := e.Split(xs, -1, sizes)
	rot := parts[0]
	var perm *Value
	if interleaved {
		// perm[2i][i] = perm[2i+1][r+i] = 1: rot @ perm puts the even
		// positions first and the odd ones after.
		p := make([]float32, rd*rd)
		for i := int64(0); i < r; i++ {
			p[(2*i)*rd+i] = 1
			p[(2*i+1)*rd+r+i] = 1
		}
		perm = e.Floats("deinterleave", []int64{rd, rd}, p)
		rot = e.Op("MatMul", []*Value{rot, perm})
	}
	halves := e.Split(rot, -1, []int64{r, r})
	x1, x2 := halves[0], halves[1]
	real := e.Op("Sub", []*Value{e.Op("Mul", []*Value{x1, cos}), e.Op("Mul", []*Value{x2, sin})})
	imag := e.Op("Add", []*Value{e.Op("Mul", []*Value{x1, sin}), e.Op("Mul", []*Value{x2, cos})})
	y := e.Op("Concat", []*Value{real, imag}, IntAttr("axis", -1))
	if interleaved {
		// The transpose of perm puts the pairs back in place.
		p := make([]float32, rd*rd)
		for i := int64(0); i < r; i++ {
			p[i*rd+2*i] = 1
			p[(r+i)*rd+2*i+1] = 1
		}
		y = e.Op("MatMul", []*Value{y, e.Floats("interleave", []int64{rd, rd}, p)})
	}
	if len(parts) > 1 {
		y = e.Op("Concat", []*Value{y, parts[1]}, IntAttr("axis", -1))
	}
	if rank == 3 {
		y = e.Op("Reshape", []*Value{y, e.Op("Shape", []*Value{x})})
	}
	e.Replace(0, y)
	e.Done()
	return nil
}
