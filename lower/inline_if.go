package lower

import (
	"fmt"
	"slices"

	"github.com/onnxquant/onnxquant/onnxio"
)

// InlineConstantIfs replaces every If whose condition is a constant by the
// nodes of the branch it always takes, in gm and every body below it.
// Exporters write shape checks ("if x.dim() == 3") as If nodes on Shape
// arithmetic; once shapes are static and folded, their conditions are
// constants, and the branch never taken would otherwise be a code path no
// calibration sample can reach (torch.export specialises such checks away
// in the same way). The If's outputs keep their names. It reports whether
// anything changed.
func InlineConstantIfs(gm *GraphModule) (bool, error) {
	changed := false
	for _, name := range slices.Clone(gm.Order) {
		if sub := gm.Submodules[name]; sub != nil {
			c, err := InlineConstantIfs(sub)
			if err != nil {
				return changed, err
			}
			changed = changed || c
		}
	}
	g := gm.Graph
	for _, n := range slices.Clone(g.Nodes) {
		if err := gm.Interrupted(); err != nil {
			return changed, err
		}
		if n.Op != CallModule || n.Target.OpType != "If" || (n.Target.Domain != "" && n.Target.Domain != "ai.onnx") {
			continue
		}
		cond, ok := constantBool(n.Inputs[0])
		if !ok {
			continue
		}
		attr := "else_branch"
		if cond {
			attr = "then_branch"
		}
		body := n.Body(attr)
		if body == nil {
			return changed, fmt.Errorf("node %q (If): no %s", n.Name, attr)
		}
		if err := g.inlineBody(n, body); err != nil {
			return changed, fmt.Errorf("node %q (If): inlining %s: %w", n.Meta.SourceName, attr, err)
		}
		changed = true
	}
	return changed, nil
}

// constantBool reads a one-element bool constant.
func constantBool(v *Value) (bool, bool) {
	t, dir, ok := v.Constant()
	if !ok {
		return false, false
	}
	bs, err := onnxio.Bools(t, dir)
	if err != nil || len(bs) != 1 {
		return false, false
	}
	return bs[0], true
}

// inlineBody moves the nodes of body into g in place of n, whose outputs
// the body's results take over.
func (g *Graph) inlineBody(n *Node, body *GraphModule) error {
	bg := body.Graph
	// Captures stand for values of g (or of graphs around it).
	mapped := map[*Value]*Value{}
	for _, bn := range bg.Nodes {
		if bn.Op == Placeholder {
			if !bn.Capture {
				return fmt.Errorf("an If branch has no inputs, found %q", bn.Outputs[0].Name)
			}
			outer := g.Value(bn.Outputs[0].Name)
			if outer == nil {
				return fmt.Errorf("captured value %q is not visible", bn.Outputs[0].Name)
			}
			mapped[bn.Outputs[0]] = outer
		}
	}
	// Body values whose names g already sees are renamed first.
	for _, bn := range bg.Nodes {
		if bn.Op == Placeholder || bn.Op == Output {
			continue
		}
		for _, v := range bn.Outputs {
			if v != nil && g.Value(v.Name) != nil {
				bg.RenameValue(v, g.NewValueName(v.Name))
			}
		}
	}
	remap := func(vs []*Value) {
		for i, v := range vs {
			if m, ok := mapped[v]; ok {
				vs[i] = m
			}
		}
	}
	pos := g.Index(n)
	var moved []*Node
	for _, bn := range bg.Nodes {
		switch bn.Op {
		case Placeholder, Output:
			continue
		}
		remap(bn.Inputs)
		remap(bn.Captures)
		bn.graph = g
		bn.Name = uniqueName(g, bn.Name)
		for _, v := range bn.Outputs {
			if v != nil {
				g.values[v.Name] = v
			}
		}
		for _, b := range bn.Bodies {
			sub := body.Submodules[b.Module]
			sub.Graph.Outer = g
			g.Module.Submodules[b.Module] = sub
		}
		moved = append(moved, bn)
	}
	// Nested bodies take the place of the If's bodies in walk order.
	nested := slices.Clone(body.Order)
	results := slices.Clone(bg.OutputNode().Inputs)
	remap(results)
	inits := 0
	for inits < len(g.Nodes) && (g.Nodes[inits].Op == Placeholder || g.Nodes[inits].Op == GetAttr) {
		inits++
	}
	var consts, compute []*Node
	for _, m := range moved {
		if m.Op == GetAttr {
			consts = append(consts, m)
		} else {
			compute = append(compute, m)
		}
	}
	g.Nodes = slices.Insert(g.Nodes, pos, compute...)
	g.Nodes = slices.Insert(g.Nodes, inits, consts...)
	// The If's outputs keep their names: a result made by a moved compute
	// node is adopted, anything else is passed through an Identity.
	adopted := map[*Value]bool{}
	for i, out := range n.Outputs {
		if out == nil || i >= len(results) {
			continue
		}
		r := results[i]
		if r.Producer == nil || !slices.Contains(compute, r.Producer) || adopted[r] {
			id := g.NewOp(g.Index(n), "Identity", out.Name+"_inlined", []*Value{r}, 1)
			id.Outputs[0].DType, id.Outputs[0].Shape, id.Outputs[0].HasShape = r.DType, r.Shape, r.HasShape
			r = id.Outputs[0]
		}
		adopted[r] = true
		g.Adopt(out, r)
	}
	order := slices.Index(g.Module.Order, n.Bodies[0].Module)
	g.RemoveNode(n)
	if order < 0 || order > len(g.Module.Order) {
		order = len(g.Module.Order)
	}
	g.Module.Order = slices.Insert(g.Module.Order, order, nested...)
	return g.TopoSort()
}
