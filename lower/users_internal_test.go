package lower

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"
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
		if err := gm.CheckUsersIndex(); err != nil {
			t.Fatalf("step %d: %v", step, err)
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

// TestCheckUsersIndexCatchesWritesAroundTheEditAPI: each way of changing a
// graph behind the index's back makes Users answer wrong, and the debug
// check reports it, naming the node; the edit API puts it right.
func TestCheckUsersIndexCatchesWritesAroundTheEditAPI(t *testing.T) {
	build := func() (*GraphModule, []*Value, []*Node) {
		gm := &GraphModule{Submodules: map[string]*GraphModule{}}
		g := &Graph{values: map[string]*Value{}, names: map[string]bool{}, Module: gm}
		gm.Graph = g
		var vals []*Value
		for i := range 2 {
			n := &Node{Name: fmt.Sprintf("in%d", i), Op: Placeholder, graph: g}
			v := &Value{Name: n.Name, Producer: n}
			n.Outputs = []*Value{v}
			g.values[v.Name] = v
			g.Nodes = append(g.Nodes, n)
			vals = append(vals, v)
		}
		a := g.NewOp(2, "Relu", "a", []*Value{vals[0]}, 1)
		b := g.NewOp(3, "Neg", "b", []*Value{a.Outputs[0]}, 1)
		g.Users(vals[0]) // the index is built
		if err := gm.CheckUsersIndex(); err != nil {
			t.Fatalf("fresh graph: %v", err)
		}
		return gm, vals, []*Node{a, b}
	}
	for _, c := range []struct {
		name    string
		corrupt func(gm *GraphModule, vals []*Value, ops []*Node)
		fix     func(gm *GraphModule, vals []*Value, ops []*Node)
		want    string
	}{
		{"input assigned directly", func(_ *GraphModule, vals []*Value, ops []*Node) { ops[0].Inputs[0] = vals[1] },
			func(_ *GraphModule, vals []*Value, ops []*Node) { ops[0].SetInput(0, vals[1]) },
			`node "a" reads "in1" as input 0 but is not listed among its users`},
		{"input list replaced directly", func(_ *GraphModule, vals []*Value, ops []*Node) { ops[1].Inputs = []*Value{vals[1]} },
			func(_ *GraphModule, vals []*Value, ops []*Node) { ops[1].SetInputs([]*Value{vals[1]}) },
			`node "b" reads "in1" as input 0`},
		{"capture assigned directly", func(_ *GraphModule, vals []*Value, ops []*Node) { ops[1].Captures = []*Value{vals[1]} },
			func(_ *GraphModule, vals []*Value, ops []*Node) { ops[1].SetCaptures([]*Value{vals[1]}) },
			`node "b" reads "in1" as capture 0`},
		{"nodes reordered directly", func(gm *GraphModule, _ []*Value, _ []*Node) {
			g := gm.Graph
			g.Nodes[0], g.Nodes[1] = g.Nodes[1], g.Nodes[0]
		}, func(gm *GraphModule, _ []*Value, _ []*Node) {
			if err := gm.Graph.TopoSort(); err != nil {
				t.Fatal(err)
			}
		}, `node "in0" is not ordered after "in1"`},
	} {
		gm, vals, ops := build()
		c.corrupt(gm, vals, ops)
		err := gm.CheckUsersIndex()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: CheckUsersIndex = %v, want an error saying %s", c.name, err, c.want)
		}
		c.fix(gm, vals, ops)
		if err := gm.CheckUsersIndex(); err != nil {
			t.Errorf("%s: after the edit API: %v", c.name, err)
		}
		for _, v := range vals {
			if got, want := gm.Graph.Users(v), scanUsers(gm.Graph, v); !slices.Equal(got, want) {
				t.Errorf("%s: after the edit API, Users(%s) = %d nodes, scan finds %d", c.name, v.Name, len(got), len(want))
			}
		}
	}
	// What the check guards against: a direct write leaves Users wrong.
	gm, vals, ops := build()
	ops[0].Inputs[0] = vals[1]
	if got, want := gm.Graph.Users(vals[1]), scanUsers(gm.Graph, vals[1]); slices.Equal(got, want) {
		t.Errorf("a direct write left Users right (%d nodes): the index no longer needs the edit API, update this test and the check", len(got))
	}
}
