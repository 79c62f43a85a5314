package lower

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// usersIndex maps each value to the nodes of one graph that read it (as
// an input or a capture), so Users costs the number of readers instead of
// a scan of the graph: passes ask for the users of every node, which made
// them quadratic in the node count.
//
// The edit API keeps it up to date (NewOp, NewInitializer, RemoveNode,
// ReplaceAllUses, SetInput, SetInputs, TopoSort). Code that changes
// g.Nodes directly is noticed by the node count and the index is rebuilt;
// code must not assign Node.Inputs or Node.Captures directly once the
// graph is built, but use SetInput/SetInputs. Entries are checked when
// read, so a stale entry (a node that no longer reads the value) is
// dropped, never returned.
type usersIndex struct {
	readers map[*Value][]*Node
	nodes   int // len(g.Nodes) the index accounts for
	// initEnd is a hint: the position after the last placeholder or
	// initializer, where NewInitializer inserts.
	initEnd int
	// gone are nodes RemoveNode took out; their entries are dropped lazily.
	gone map[*Node]bool
}

// index returns g's index, building it when missing or out of step.
func (g *Graph) index() *usersIndex {
	if g.users != nil && g.users.nodes == len(g.Nodes) {
		return g.users
	}
	idx := &usersIndex{readers: make(map[*Value][]*Node, len(g.Nodes)), nodes: len(g.Nodes)}
	for _, n := range g.Nodes {
		idx.add(n)
	}
	relabel(g.Nodes, math.MinInt64/2, math.MaxInt64/2)
	g.users = idx
	return idx
}

// Node order keys: every node of an indexed graph carries a key that
// increases along g.Nodes, so readers are put in graph order by sorting
// a handful of keys instead of locating them in the graph. An insertion
// takes the midpoint of its neighbours' keys; when there is no room left,
// the keys of a window around it, doubled until it is sparse enough, are
// spread evenly again (list labelling: amortized cheap, never a scan of
// the graph per insertion).

// relabel spreads keys evenly over nodes, strictly between lo and hi.
func relabel(nodes []*Node, lo, hi int64) {
	step := (hi - lo) / int64(len(nodes)+1)
	for i, n := range nodes {
		n.order = lo + step*int64(i+1)
	}
}

// minGap is the key room a relabelled window leaves between neighbours:
// room for that many halvings before the next relabel.
const minGap = 1 << 20

// place gives the node at position p of g.Nodes a key between its
// neighbours'.
func place(nodes []*Node, p int) {
	key := func(i int) int64 {
		switch {
		case i < 0:
			return math.MinInt64 / 2
		case i >= len(nodes):
			return math.MaxInt64 / 2
		}
		return nodes[i].order
	}
	if a, b := key(p-1), key(p+1); b-a >= 2 {
		nodes[p].order = a + (b-a)/2
		return
	}
	for w := 8; ; w *= 2 {
		lo, hi := max(p-w, 0), min(p+w, len(nodes))
		left, right := key(lo-1), key(hi)
		if (right-left)/int64(hi-lo+1) >= minGap || (lo == 0 && hi == len(nodes)) {
			relabel(nodes[lo:hi], left, right)
			return
		}
	}
}

// add records n as a reader of its inputs and captures.
func (idx *usersIndex) add(n *Node) {
	for _, v := range n.Inputs {
		idx.link(v, n)
	}
	for _, v := range n.Captures {
		idx.link(v, n)
	}
}

func (idx *usersIndex) link(v *Value, n *Node) {
	if v == nil {
		return
	}
	rs := idx.readers[v]
	if len(rs) > 0 && rs[len(rs)-1] == n {
		return
	}
	idx.readers[v] = append(rs, n)
}

func reads(n *Node, v *Value) bool {
	return slices.Contains(n.Inputs, v) || slices.Contains(n.Captures, v)
}

// usersOf returns the nodes of g that read v, in graph order, each once.
func (g *Graph) usersOf(v *Value) []*Node {
	idx := g.index()
	cands := idx.readers[v]
	var out []*Node
	kept := cands[:0]
	var seen map[*Node]bool
	if len(cands) > 8 {
		seen = make(map[*Node]bool, len(cands))
	}
	for _, n := range cands {
		if n.graph != g || idx.gone[n] || !reads(n, v) {
			continue
		}
		if seen != nil {
			if seen[n] {
				continue
			}
			seen[n] = true
		} else if slices.Contains(kept, n) {
			continue
		}
		kept = append(kept, n)
	}
	// Drop stale entries for good.
	if len(kept) == 0 {
		delete(idx.readers, v)
	} else {
		idx.readers[v] = kept
	}
	out = append(out, kept...)
	if len(out) > 1 {
		sort.Slice(out, func(i, j int) bool { return out[i].order < out[j].order })
	}
	return out
}

// inserted records a node the edit API put into g.Nodes at position p.
func (g *Graph) inserted(n *Node, p int) {
	if g.users == nil {
		return
	}
	if g.users.nodes+1 != len(g.Nodes) || g.Nodes[p] != n {
		g.users = nil
		return
	}
	g.users.nodes++
	g.users.add(n)
	place(g.Nodes, p)
	if p < g.users.initEnd || (p == g.users.initEnd && (n.Op == Placeholder || n.Op == GetAttr)) {
		g.users.initEnd++
	}
}

// InitializerEnd returns the position after the graph's leading
// placeholders and initializers (where NewInitializer inserts).
func (g *Graph) InitializerEnd() int {
	isHead := func(i int) bool { return g.Nodes[i].Op == Placeholder || g.Nodes[i].Op == GetAttr }
	if idx := g.users; idx != nil && idx.nodes == len(g.Nodes) {
		e := idx.initEnd
		if e > 0 && e <= len(g.Nodes) && isHead(e-1) && (e == len(g.Nodes) || !isHead(e)) {
			return e
		}
	}
	pos := 0
	for pos < len(g.Nodes) && isHead(pos) {
		pos++
	}
	if g.users != nil {
		g.users.initEnd = pos
	}
	return pos
}

// removed records a node the edit API took out of g.Nodes.
func (g *Graph) removed(n *Node) {
	if g.users == nil {
		return
	}
	if g.users.nodes-1 != len(g.Nodes) {
		g.users = nil
		return
	}
	g.users.nodes--
	g.users.initEnd = 0 // recomputed on demand
	if g.users.gone == nil {
		g.users.gone = map[*Node]bool{}
	}
	g.users.gone[n] = true
}

// removedMany records nodes the edit API took out of g.Nodes at once
// (before is the node count they were counted in).
func (g *Graph) removedMany(nodes map[*Node]bool, before int) {
	if g.users == nil {
		return
	}
	if g.users.nodes != before || before-len(nodes) != len(g.Nodes) {
		g.users = nil
		return
	}
	g.users.nodes = len(g.Nodes)
	g.users.initEnd = 0
	if g.users.gone == nil {
		g.users.gone = map[*Node]bool{}
	}
	for n := range nodes {
		g.users.gone[n] = true
	}
}

// reordered records a change of node order.
func (g *Graph) reordered() {
	if g.users != nil {
		relabel(g.Nodes, math.MinInt64/2, math.MaxInt64/2)
		g.users.initEnd = 0
	}
}

// indexOf returns the position of n in g.Nodes by binary search on the
// order keys, or -1 when n is not found that way (the caller scans).
func (g *Graph) indexOf(n *Node) int {
	if n.graph != g {
		return -1
	}
	g.index()
	i := sort.Search(len(g.Nodes), func(i int) bool { return g.Nodes[i].order >= n.order })
	if i < len(g.Nodes) && g.Nodes[i] == n {
		return i
	}
	return -1
}

// SetInput makes n read v as its input i (growing the input list with
// omitted inputs when i is past its end), keeping the users index in step.
func (n *Node) SetInput(i int, v *Value) {
	for len(n.Inputs) <= i {
		n.Inputs = append(n.Inputs, nil)
	}
	n.Inputs[i] = v
	if g := n.graph; g != nil && g.users != nil {
		g.users.link(v, n)
	}
}

// SetInputs replaces n's input list.
func (n *Node) SetInputs(vs []*Value) {
	n.Inputs = vs
	if g := n.graph; g != nil && g.users != nil {
		for _, v := range vs {
			g.users.link(v, n)
		}
	}
}

// SetCaptures replaces n's captures.
func (n *Node) SetCaptures(vs []*Value) {
	n.Captures = vs
	if g := n.graph; g != nil && g.users != nil {
		for _, v := range vs {
			g.users.link(v, n)
		}
	}
}

// CheckUsersIndex checks that the users index of every graph of gm (its
// own and its bodies', recursively) is in step with the nodes: see
// (*Graph).CheckUsersIndex. It is a debug check, for tests to run after
// every stage and pass.
func (gm *GraphModule) CheckUsersIndex() error {
	if err := gm.Graph.CheckUsersIndex(); err != nil {
		return err
	}
	for _, name := range gm.Order {
		if sub := gm.Submodules[name]; sub != nil {
			if err := sub.CheckUsersIndex(); err != nil {
				return err
			}
		}
	}
	return nil
}

// CheckUsersIndex reports the first way g's users index is out of step
// with its nodes, which Users would silently answer wrong: a node that
// reads a value (as an input or a capture) without being listed as its
// reader (its input was assigned directly instead of with SetInput or
// SetInputs), a node listed in g.Nodes that belongs to another graph or
// that the index counts as removed, or order keys that do not increase
// along g.Nodes. A graph whose index is not built (or will be rebuilt on
// next use, its node count having changed) has nothing stale.
func (g *Graph) CheckUsersIndex() error {
	idx := g.users
	if idx == nil || idx.nodes != len(g.Nodes) {
		return nil
	}
	where := func() string {
		if g.Module != nil && g.Module.Name != "" {
			return fmt.Sprintf("graph %q", g.Module.Name)
		}
		return "the main graph"
	}
	for i, n := range g.Nodes {
		if n.graph != g {
			return fmt.Errorf("users index of %s: node %q is listed in the graph but belongs to another", where(), n.Name)
		}
		if idx.gone[n] {
			return fmt.Errorf("users index of %s: node %q is in the graph but the index has it removed", where(), n.Name)
		}
		if i > 0 && g.Nodes[i-1].order >= n.order {
			return fmt.Errorf("users index of %s: node %q is not ordered after %q (the node list was reordered without the edit API)", where(), n.Name, g.Nodes[i-1].Name)
		}
		check := func(what string, vs []*Value) error {
			for j, v := range vs {
				if v != nil && !slices.Contains(idx.readers[v], n) {
					return fmt.Errorf("users index of %s: node %q reads %q as %s %d but is not listed among its users (assigned without SetInput/SetInputs/SetCaptures?)",
						where(), n.Name, v.Name, what, j)
				}
			}
			return nil
		}
		if err := check("input", n.Inputs); err != nil {
			return err
		}
		if err := check("capture", n.Captures); err != nil {
			return err
		}
	}
	return nil
}
