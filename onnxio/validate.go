package onnxio

import (
	"fmt"
	"strings"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// Problem is one structural defect found by Validate.
type Problem struct {
	// Graph locates the graph: the main graph's name, then for subgraphs
	// "/<node>.<attribute>" per level, e.g. "main/If_0.then_branch".
	Graph string
	// Node names the node ("#3" for an unnamed node: its index), "" for a
	// problem of the graph itself.
	Node   string
	OpType string
	// Tensor is the value name involved, if any.
	Tensor string
	Msg    string
}

func (p Problem) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "graph %q", p.Graph)
	if p.Node != "" {
		fmt.Fprintf(&b, ": node %q (%s)", p.Node, p.OpType)
	}
	if p.Tensor != "" {
		fmt.Fprintf(&b, ": tensor %q", p.Tensor)
	}
	return b.String() + ": " + p.Msg
}

// ValidationError lists every problem Validate found in a model, so one run
// reports them all. Callers get it with errors.As.
type ValidationError struct {
	Model    string
	Problems []Problem
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "model %q: %d structural problem(s):", e.Model, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n\t")
		b.WriteString(p.String())
	}
	return b.String()
}

// Validate checks the model's structure without interpreting operators:
// every node input is defined before use (by an earlier node, a graph
// input, an initializer, or for subgraph bodies a name visible in an
// enclosing graph at that point; "" marks an omitted optional input),
// every node domain is imported, every graph output is defined, and no
// name is produced twice. It returns a *ValidationError listing all
// problems, or nil.
func Validate(m *Model) error {
	v := &validator{domains: map[string]bool{}}
	for _, op := range m.Proto.GetOpsetImport() {
		v.domains[normDomain(op.GetDomain())] = true
	}
	for _, f := range m.Proto.GetFunctions() {
		v.domains[normDomain(f.GetDomain())] = true
	}
	v.graph(m.Proto.GetGraph(), nil, m.Proto.GetGraph().GetName())
	for _, ti := range m.Proto.GetTrainingInfo() {
		// Training graphs may read the main graph's initializers.
		outer := v.scopeOfInitializers(m.Proto.GetGraph())
		for _, g := range []*onnxpb.GraphProto{ti.GetInitialization(), ti.GetAlgorithm()} {
			if g != nil {
				v.graph(g, outer, "training/"+g.GetName())
			}
		}
	}
	for _, f := range m.Proto.GetFunctions() {
		v.function(f)
	}
	if len(v.problems) == 0 {
		return nil
	}
	return &ValidationError{Model: m.name(), Problems: v.problems}
}

type validator struct {
	domains  map[string]bool
	problems []Problem
}

// scope is the set of names defined in one graph, chained to the scopes
// of the enclosing graphs.
type scope struct {
	parent *scope
	names  map[string]bool
}

func newScope(parent *scope) *scope { return &scope{parent: parent, names: map[string]bool{}} }

func (s *scope) has(name string) bool {
	for ; s != nil; s = s.parent {
		if s.names[name] {
			return true
		}
	}
	return false
}

// normDomain maps the two spellings of the default domain to one.
func normDomain(d string) string {
	if d == "ai.onnx" {
		return ""
	}
	return d
}

func nodeLabel(i int, n *onnxpb.NodeProto) string {
	if n.GetName() != "" {
		return n.GetName()
	}
	return fmt.Sprintf("#%d", i)
}

func (v *validator) scopeOfInitializers(g *onnxpb.GraphProto) *scope {
	s := newScope(nil)
	for _, t := range g.GetInitializer() {
		s.names[t.GetName()] = true
	}
	return s
}

func (v *validator) add(p Problem) { v.problems = append(v.problems, p) }

// graph checks one graph (and, recursively, its subgraphs) given the
// names visible from enclosing graphs.
func (v *validator) graph(g *onnxpb.GraphProto, outer *scope, path string) {
	if g == nil {
		v.add(Problem{Graph: path, Msg: "missing graph"})
		return
	}
	s := newScope(outer)
	for _, in := range g.GetInput() {
		if s.names[in.GetName()] {
			v.add(Problem{Graph: path, Tensor: in.GetName(), Msg: "duplicate graph input"})
		}
		s.names[in.GetName()] = true
	}
	inits := map[string]bool{}
	define := func(name, what string) {
		if inits[name] {
			v.add(Problem{Graph: path, Tensor: name, Msg: "duplicate " + what})
		}
		inits[name] = true
		s.names[name] = true // an initializer may also be a graph input (its default)
	}
	for _, t := range g.GetInitializer() {
		define(t.GetName(), "initializer")
	}
	for _, sp := range g.GetSparseInitializer() {
		define(sp.GetValues().GetName(), "sparse initializer")
	}
	v.nodes(g.GetNode(), s, path)
	for _, out := range g.GetOutput() {
		if !s.has(out.GetName()) {
			v.add(Problem{Graph: path, Tensor: out.GetName(), Msg: "graph output is not produced by any node, input or initializer"})
		}
	}
}

// nodes checks a node list in order against scope s, extending it with
// each node's outputs.
func (v *validator) nodes(nodes []*onnxpb.NodeProto, s *scope, path string) {
	for i, n := range nodes {
		label := nodeLabel(i, n)
		prob := func(tensor, msg string) {
			v.add(Problem{Graph: path, Node: label, OpType: n.GetOpType(), Tensor: tensor, Msg: msg})
		}
		if n.GetOpType() == "" {
			prob("", "node has no op_type")
		}
		if d := normDomain(n.GetDomain()); !v.domains[d] {
			prob("", fmt.Sprintf("unknown domain %q (not in opset_import)", n.GetDomain()))
		}
		for _, in := range n.GetInput() {
			if in != "" && !s.has(in) {
				prob(in, "input is not produced by an earlier node, a graph input, an initializer or an outer scope")
			}
		}
		for _, a := range n.GetAttribute() {
			if a.G != nil {
				v.graph(a.G, s, path+"/"+label+"."+a.GetName())
			}
			for k, g := range a.Graphs {
				v.graph(g, s, fmt.Sprintf("%s/%s.%s[%d]", path, label, a.GetName(), k))
			}
		}
		for _, out := range n.GetOutput() {
			if out == "" {
				continue
			}
			if s.has(out) {
				prob(out, "duplicate output name: already defined")
			}
			s.names[out] = true
		}
	}
}

// function checks a model-local function body: nodes read the function's
// inputs and earlier nodes' outputs; its outputs must be produced.
func (v *validator) function(f *onnxpb.FunctionProto) {
	path := "function " + f.GetDomain() + ":" + f.GetName()
	saved := v.domains
	v.domains = map[string]bool{}
	for d := range saved {
		v.domains[d] = true
	}
	for _, op := range f.GetOpsetImport() {
		v.domains[normDomain(op.GetDomain())] = true
	}
	defer func() { v.domains = saved }()
	s := newScope(nil)
	for _, in := range f.GetInput() {
		s.names[in] = true
	}
	v.nodes(f.GetNode(), s, path)
	for _, out := range f.GetOutput() {
		if !s.has(out) {
			v.add(Problem{Graph: path, Tensor: out, Msg: "function output is not produced"})
		}
	}
}
