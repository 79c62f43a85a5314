package lower

import (
	"fmt"
	"math/rand"
	"slices"
	"testing"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// scanUsers is the definition Users must agree with: every node of g that
// reads v, in graph order.
func scanUsers(g *Graph, v *Value) []*Node {
	var out []*Node
	for _, n := range g.Nodes {
		if slices.Contains(n.Inputs, v) || slices.Contains(n.Captures, v) {
			out = append(out, n)
		}
	}
	return out
}

// TestUsersIndexFollowsEdits applies random edits through the edit API
// (and a direct append to g.Nodes, which the index must notice) and
// compares Users with a scan after each.
func TestUsersIndexFollowsEdits(t *testing.T) {
	gm := &GraphModule{Submodules: map[string]*GraphModule{}}
	g := &Graph{values: map[string]*Value{}, names: map[string]bool{}, Module: gm}
	gm.Graph = g
	rng := rand.New(rand.NewSource(1))
	var vals []*Value
	for i := range 4 {
		n := &Node{Name: fmt.Sprintf("in%d", i), Op: Placeholder, graph: g}
		v := &Value{Name: n.Name, Producer: n}
		n.Outputs = []*Value{v}
		g.values[v.Name] = v
		g.Nodes = append(g.Nodes, n)
		vals = append(vals, v)
	}
	check := func(step int) {
		t.Helper()
		for _, v := range vals {
			got, want := g.Users(v), scanUsers(g, v)
			if !slices.Equal(got, want) {
				t.Fatalf("step %d: Users(%s) = %d nodes, scan finds %d", step, v.Name, len(got), len(want))
			}
		}
		for i, n := range g.Nodes {
			if got := g.Index(n); got != i {
				t.Fatalf("step %d: Index(%s) = %d, want %d", step, n.Name, got, i)
			}
		}
	}
	pick := func() *Value { return vals[rng.Intn(len(vals))] }
	for step := range 1000 {
		switch r := rng.Intn(6); {
		case r <= 1:
			n := g.NewOp(rng.Intn(len(g.Nodes)+1), "Add", "add", []*Value{pick(), pick()}, 1)
			vals = append(vals, n.Outputs[0])
		case r == 2 && len(g.Nodes) > 6:
			n := g.Nodes[4+rng.Intn(len(g.Nodes)-4)]
			if n.Op == CallFunction {
				g.RemoveNode(n)
			}
		case r == 3:
			g.ReplaceAllUses(pick(), pick())
		case r == 4:
			n := g.Nodes[rng.Intn(len(g.Nodes))]
			if len(n.Inputs) > 0 {
				n.SetInput(rng.Intn(len(n.Inputs)), pick())
			}
		default:
			// A pass that builds a node itself and appends it.
			n := &Node{Name: fmt.Sprintf("raw%d", step), Op: CallFunction, Inputs: []*Value{pick()}, graph: g}
			g.Nodes = append(g.Nodes, n)
		}
		check(step)
	}
}

// TestBatchInitializersKeepsTheOrder: initializers made in a batch land
// where one-at-a-time insertion puts them, around nodes added meanwhile.
func TestBatchInitializersKeepsTheOrder(t *testing.T) {
	build := func(batch bool) []string {
		gm := &GraphModule{Submodules: map[string]*GraphModule{}}
		g := &Graph{values: map[string]*Value{}, names: map[string]bool{}, Module: gm}
		gm.Graph = g
		in := &Node{Name: "x", Op: Placeholder, graph: g}
		x := &Value{Name: "x", Producer: in}
		in.Outputs = []*Value{x}
		g.values["x"] = x
		g.Nodes = append(g.Nodes, in)
		g.NewOp(1, "Relu", "r", []*Value{x}, 1)
		var flush func()
		if batch {
			flush = g.BatchInitializers()
		}
		for i := range 5 {
			c := g.NewInitializer(fmt.Sprintf("c%d", i), &onnxpb.TensorProto{})
			g.NewOp(g.InitializerEnd(), "Neg", fmt.Sprintf("n%d", i), []*Value{c}, 1)
		}
		if batch {
			flush()
		}
		var names []string
		for _, n := range g.Nodes {
			names = append(names, n.Name)
		}
		return names
	}
	one, batched := build(false), build(true)
	if !slices.Equal(one, batched) {
		t.Errorf("batched order %v, one at a time %v", batched, one)
	}
}
