package lower

import "slices"

// Symbolic shape values: an int64 tensor of rank <= 1 built from Shape of a
// partly known shape (x.shape[0] is "batch") is not a constant, but its
// elements are still dimensions. Tracking them through the usual export
// idiom (Shape -> Gather -> Unsqueeze -> Concat -> Reshape) keeps symbols
// such as "batch" in the shapes Reshape produces.

// symDim is one element: a literal integer, or a dimension (symbolic or
// unknown).
type symDim struct {
	lit bool
	v   int64
	d   Dim
}

type symVal struct {
	elems  []symDim
	scalar bool
}

// symOf returns the symbolic value of v: from the constants when v is
// constant, else from what was tracked.
func (inf *inferer) symOf(v *Value) (symVal, bool) {
	if v == nil {
		return symVal{}, false
	}
	if c := inf.consts[v]; c != nil && len(c.Shape) <= 1 && !isFloatType(c.DType) {
		s := symVal{scalar: len(c.Shape) == 0}
		for _, x := range c.ints() {
			s.elems = append(s.elems, symDim{lit: true, v: x})
		}
		return s, true
	}
	s, ok := inf.syms[v]
	return s, ok
}

// trackSym records the symbolic value of n's output, if it has one.
func (inf *inferer) trackSym(n *Node) {
	if len(n.Outputs) != 1 || n.Outputs[0] == nil {
		return
	}
	out := n.Outputs[0]
	delete(inf.syms, out)
	if inf.consts[out] != nil {
		return
	}
	var res symVal
	ok := false
	switch n.Target.OpType {
	case "Shape":
		x := n.Inputs[0]
		if x == nil || !x.HasShape {
			return
		}
		r := int64(len(x.Shape))
		start, end := int64(0), r
		clamp := func(v int64) int64 {
			if v < 0 {
				v += r
			}
			return min(max(v, 0), r)
		}
		start = clamp(n.AttrInt("start", 0))
		if n.Attr("end") != nil {
			end = clamp(n.AttrInt("end", 0))
		}
		for _, d := range x.Shape[start:max(start, end)] {
			if d.Known() {
				res.elems = append(res.elems, symDim{lit: true, v: d.Value})
			} else {
				res.elems = append(res.elems, symDim{d: d})
			}
		}
		ok = true
	case "Identity", "Cast":
		res, ok = inf.symOf(n.Inputs[0])
	case "Gather":
		src, ok1 := inf.symOf(n.Inputs[0])
		idx := inf.consts[n.Inputs[1]]
		if !ok1 || idx == nil || src.scalar || len(idx.Shape) > 1 {
			return
		}
		res.scalar = len(idx.Shape) == 0
		for _, i := range idx.ints() {
			if i < 0 {
				i += int64(len(src.elems))
			}
			if i < 0 || i >= int64(len(src.elems)) {
				return
			}
			res.elems = append(res.elems, src.elems[i])
		}
		ok = true
	case "Unsqueeze":
		src, ok1 := inf.symOf(n.Inputs[0])
		if ok1 && src.scalar {
			res, ok = symVal{elems: src.elems}, true
		}
	case "Squeeze":
		src, ok1 := inf.symOf(n.Inputs[0])
		if ok1 && !src.scalar && len(src.elems) == 1 {
			res, ok = symVal{elems: src.elems, scalar: true}, true
		}
	case "Concat":
		for _, in := range n.Inputs {
			s, ok1 := inf.symOf(in)
			if !ok1 || s.scalar {
				return
			}
			res.elems = append(res.elems, s.elems...)
		}
		ok = true
	}
	if ok {
		res.elems = slices.Clip(res.elems)
		inf.syms[out] = res
	}
}
