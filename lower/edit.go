package lower

import (
	"fmt"
	"slices"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// Users returns the nodes of v's graph (and of graphs nested in it, through
// the owners of capturing bodies) that read v, in graph order, each once.
func (g *Graph) Users(v *Value) []*Node {
	return g.usersOf(v)
}

// Users returns the nodes that read any output of n.
func (n *Node) Users() []*Node {
	var out []*Node
	for _, v := range n.Outputs {
		if v == nil {
			continue
		}
		for _, u := range n.graph.Users(v) {
			if !slices.Contains(out, u) {
				out = append(out, u)
			}
		}
	}
	return out
}

// ReplaceAllUses makes every reader of old read repl instead, including
// bodies that capture old: their capture placeholders are renamed to the
// new value's name, recursively through nested bodies.
func (g *Graph) ReplaceAllUses(old, repl *Value) {
	for _, n := range g.usersOf(old) {
		for i, in := range n.Inputs {
			if in == old {
				n.SetInput(i, repl)
			}
		}
		if i := slices.Index(n.Captures, old); i >= 0 {
			if slices.Contains(n.Captures, repl) {
				n.Captures = slices.Delete(n.Captures, i, i+1)
			} else {
				n.Captures[i] = repl
				if g.users != nil {
					g.users.link(repl, n)
				}
			}
			for _, b := range n.Bodies {
				body := g.Module.Submodules[b.Module].Graph
				if inner := body.values[old.Name]; inner != nil && inner.Producer.Capture {
					body.renameCapture(inner, repl)
				}
			}
		}
	}
}

// renameCapture points a capture placeholder at a new outer value.
func (g *Graph) renameCapture(inner, outer *Value) {
	if existing := g.values[outer.Name]; existing != nil && existing != inner {
		// The body already captures the new value: merge the two.
		g.ReplaceAllUses(inner, existing)
		g.RemoveNode(inner.Producer)
		return
	}
	old := *inner
	delete(g.values, inner.Name)
	inner.Name = outer.Name
	inner.Producer.Meta.SourceName = outer.Name
	inner.DType, inner.Shape, inner.HasShape = outer.DType, outer.Shape, outer.HasShape
	g.values[inner.Name] = inner
	// Deeper bodies captured the old name from here: follow them.
	for _, n := range g.Nodes {
		if slices.Contains(n.Captures, inner) {
			for _, b := range n.Bodies {
				body := g.Module.Submodules[b.Module].Graph
				if deep := body.values[old.Name]; deep != nil && deep.Producer.Capture {
					body.renameCapture(deep, inner)
				}
			}
		}
	}
}

// RemoveNode deletes n from its graph and forgets its outputs. Callers make
// sure nothing reads them any more.
func (g *Graph) RemoveNode(n *Node) {
	if i := g.Index(n); i >= 0 {
		g.Nodes = slices.Delete(g.Nodes, i, i+1)
		g.removed(n)
	}
	g.forget(n)
}

// forget drops what g knows about a node taken out of g.Nodes: its output
// values, its name and its bodies.
func (g *Graph) forget(n *Node) {
	for _, v := range n.Outputs {
		if v != nil && g.values[v.Name] == v {
			delete(g.values, v.Name)
		}
	}
	delete(g.names, n.Name)
	for _, b := range n.Bodies {
		delete(g.Module.Submodules, b.Module)
		g.Module.Order = slices.DeleteFunc(g.Module.Order, func(s string) bool { return s == b.Module })
	}
}

// NewValueName returns a value name based on base that no graph in scope
// uses.
func (g *Graph) NewValueName(base string) string {
	name := base
	for i := 1; g.Value(name) != nil || g.inner(name); i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	return name
}

// inner reports whether a body below g defines name.
func (g *Graph) inner(name string) bool {
	found := false
	for _, sub := range g.Module.Submodules {
		_ = sub.Walk(func(m *GraphModule) error {
			if m.Graph.values[name] != nil {
				found = true
			}
			return nil
		})
	}
	return found
}

// NewOp builds a CallFunction node of the default domain with fresh output
// values and inserts it before the node at index pos of g.Nodes. The node
// binds to the model's opset of its domain.
func (g *Graph) NewOp(pos int, opType, name string, inputs []*Value, nOutputs int, attrs ...*onnxpb.AttributeProto) *Node {
	return g.NewOpIn(pos, "", opType, name, inputs, nOutputs, attrs...)
}

// NewOpIn is NewOp for a node of the given domain.
func (g *Graph) NewOpIn(pos int, domain, opType, name string, inputs []*Value, nOutputs int, attrs ...*onnxpb.AttributeProto) *Node {
	n := &Node{
		Name:   uniqueName(g, sanitize(name)),
		Op:     CallFunction,
		Target: Target{Domain: domain, OpType: opType, Version: g.Module.Opset(domain)},
		Inputs: inputs,
		Attrs:  attrs,
		Meta:   Meta{SourceName: name},
		graph:  g,
	}
	for i := 0; i < nOutputs; i++ {
		base := name
		if nOutputs > 1 {
			base = fmt.Sprintf("%s_out%d", name, i)
		}
		v := &Value{Name: g.NewValueName(base), Producer: n, Index: i}
		g.values[v.Name] = v
		n.Outputs = append(n.Outputs, v)
	}
	g.Nodes = slices.Insert(g.Nodes, pos, n)
	g.inserted(n, pos)
	return n
}

// NewInitializer adds a GetAttr node holding t (named name) among the
// graph's initializers and returns its value.
func (g *Graph) NewInitializer(name string, t *onnxpb.TensorProto) *Value {
	pos := g.InitializerEnd()
	vname := g.NewValueName(name)
	t.Name = &vname
	n := &Node{Name: uniqueName(g, sanitize(vname)), Op: GetAttr, Initializer: t, Meta: Meta{SourceName: vname}, graph: g}
	v := &Value{Name: vname, Producer: n, DType: t.GetDataType(), Shape: dimsOf(t.Dims), HasShape: true}
	n.Outputs = []*Value{v}
	g.values[vname] = v
	if g.batching {
		g.pendingInits = append(g.pendingInits, n)
		return v
	}
	g.Nodes = slices.Insert(g.Nodes, pos, n)
	g.inserted(n, pos)
	return v
}

// BatchInitializers makes NewInitializer hold the initializer nodes it
// creates and put them into g.Nodes all at once when the returned function
// runs, at the end of the initializers, in creation order: the same graph
// as inserting them one at a time, without moving every later node once
// per initializer (a pass that quantizes a large model adds thousands).
// Until then the new nodes are not in g.Nodes (their values are defined),
// so the caller must not look them up there.
func (g *Graph) BatchInitializers() (flush func()) {
	g.batching = true
	return func() {
		g.batching = false
		if len(g.pendingInits) == 0 {
			return
		}
		pos := g.InitializerEnd()
		g.Nodes = slices.Insert(g.Nodes, pos, g.pendingInits...)
		g.pendingInits = nil
		g.users = nil // rebuilt, in one pass, when next needed
	}
}

// Index returns the position of n in g.Nodes, or -1.
func (g *Graph) Index(n *Node) int {
	if i := g.indexOf(n); i >= 0 {
		return i
	}
	return slices.Index(g.Nodes, n)
}

// EliminateDeadCode removes nodes whose outputs nobody reads, in g and in
// every body below it; graph inputs, the output node and nodes without
// outputs stay. It reports whether anything was removed.
func (gm *GraphModule) EliminateDeadCode() bool {
	changed := false
	for _, name := range gm.Order {
		if gm.Submodules[name].EliminateDeadCode() {
			changed = true
		}
	}
	g := gm.Graph
	live := map[*Value]bool{}
	// Dead nodes leave g.Nodes in one pass at the end: removing them one
	// by one moves the rest of the slice each time.
	dead := map[*Node]bool{}
	for i := len(g.Nodes) - 1; i >= 0; i-- {
		n := g.Nodes[i]
		keep := n.Op == Output || (n.Op == Placeholder && !n.Capture)
		for _, v := range n.Outputs {
			if v != nil && live[v] {
				keep = true
			}
		}
		if !keep && n.Op != GetAttr && n.Op != Placeholder && len(n.Outputs) == 0 {
			keep = true
		}
		if !keep {
			dead[n] = true
			g.forget(n)
			if n.Capture && gm.Owner != nil {
				owner := gm.Owner
				outer := owner.graph.Value(n.Outputs[0].Name)
				if !owner.capturedElsewhere(outer, gm) {
					owner.Captures = slices.DeleteFunc(owner.Captures, func(v *Value) bool { return v == outer })
				}
			}
			changed = true
			continue
		}
		for _, v := range n.Inputs {
			live[v] = true
		}
		for _, v := range n.Captures {
			live[v] = true
		}
	}
	if len(dead) > 0 {
		before := len(g.Nodes)
		g.Nodes = slices.DeleteFunc(g.Nodes, func(n *Node) bool { return dead[n] })
		g.removedMany(dead, before)
	}
	return changed
}

// capturedElsewhere reports whether a body of n other than except captures v.
func (n *Node) capturedElsewhere(v *Value, except *GraphModule) bool {
	for _, b := range n.Bodies {
		sub := n.graph.Module.Submodules[b.Module]
		if sub == nil || sub == except {
			continue
		}
		if inner := sub.Graph.values[v.Name]; inner != nil && inner.Producer.Capture {
			return true
		}
	}
	return false
}

// TopoSort reorders the nodes of g so every node follows the producers of
// its inputs and captures, keeping the current order where it already
// does. It fails on a cycle.
func (g *Graph) TopoSort() error {
	pos := map[*Node]int{}
	for i, n := range g.Nodes {
		pos[n] = i
	}
	state := map[*Node]int{} // 1 visiting, 2 done
	order := make([]*Node, 0, len(g.Nodes))
	var visit func(n *Node) error
	visit = func(n *Node) error {
		switch state[n] {
		case 1:
			return fmt.Errorf("graph has a cycle through node %q", n.Name)
		case 2:
			return nil
		}
		state[n] = 1
		deps := append(append([]*Value{}, n.Inputs...), n.Captures...)
		for _, v := range deps {
			if v == nil || v.Producer == nil || v.Producer.graph != g {
				continue
			}
			if err := visit(v.Producer); err != nil {
				return err
			}
		}
		state[n] = 2
		order = append(order, n)
		return nil
	}
	var out *Node
	for _, n := range g.Nodes {
		if n.Op == Output {
			out = n
			continue
		}
		if err := visit(n); err != nil {
			return err
		}
	}
	if out != nil {
		if err := visit(out); err != nil {
			return err
		}
	}
	g.Nodes = order
	g.reordered()
	return nil
}
