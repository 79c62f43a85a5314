package lower

import (
	"fmt"

	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// OpKind says what a node is, in the terms of torch.fx.
type OpKind int

const (
	// Placeholder is a graph input, or in a body a value captured from an
	// enclosing graph (Node.Capture is then true).
	Placeholder OpKind = iota
	// GetAttr reads an initializer of the graph.
	GetAttr
	// CallFunction runs one ONNX operator.
	CallFunction
	// CallModule runs an operator that owns bodies (If, Loop, Scan); the
	// bodies are submodules of the GraphModule.
	CallModule
	// Output returns the graph outputs; it is the last node.
	Output
)

var opKindNames = [...]string{"placeholder", "get_attr", "call_function", "call_module", "output"}

func (k OpKind) String() string {
	if int(k) < len(opKindNames) {
		return opKindNames[k]
	}
	return fmt.Sprintf("OpKind(%d)", int(k))
}

// Target is the operator a node runs.
type Target struct {
	Domain  string // "" is the default ONNX domain
	OpType  string
	Version int64 // the opset version the node binds to
}

func (t Target) String() string {
	if t.Domain == "" || t.Domain == "ai.onnx" {
		return fmt.Sprintf("%s-%d", t.OpType, t.Version)
	}
	return fmt.Sprintf("%s.%s-%d", t.Domain, t.OpType, t.Version)
}

// Dim is one dimension of a shape: a known size (Value >= 0), a symbolic
// name (Param), or unknown (Value -1, no Param).
type Dim struct {
	Value int64
	Param string
}

// Known reports whether the dimension has a fixed size.
func (d Dim) Known() bool { return d.Param == "" && d.Value >= 0 }

// UnknownDim returns a dimension nothing is known about.
func UnknownDim() Dim { return Dim{Value: -1} }

// Value is one tensor of a graph, produced by exactly one node.
type Value struct {
	Name     string
	Producer *Node
	Index    int // which output of Producer
	// DType is the ONNX TensorProto data type, 0 when unknown.
	DType int32
	// Shape is nil when the rank is unknown.
	Shape    []Dim
	HasShape bool
	// Info keeps the original ValueInfoProto (doc string, metadata) when
	// the model declared one for this value.
	Info *onnxpb.ValueInfoProto
}

// Meta is what a node knows about where it came from.
type Meta struct {
	// SourceName is the ONNX node name (or the input/initializer name).
	SourceName string
	// ModuleStack lists the qualified names of the modules that contain the
	// node, outermost first ("layer1", "layer1.0", "layer1.0.conv1").
	ModuleStack []string
	// ModuleTypes are the class names matching ModuleStack when the
	// exporter wrote them; entries may be "".
	ModuleTypes []string
}

// Module is the innermost module of the node, "" at the top level.
func (m Meta) Module() string {
	if len(m.ModuleStack) == 0 {
		return ""
	}
	return m.ModuleStack[len(m.ModuleStack)-1]
}

// Node is one operation of a Graph.
type Node struct {
	// Name is unique within its graph.
	Name   string
	Op     OpKind
	Target Target
	// Inputs are the operands; a nil entry is an omitted optional input.
	// Once the graph is built, change them with SetInput or SetInputs,
	// which keep the users index (users.go) in step.
	Inputs  []*Value
	Outputs []*Value
	// Attrs are the node's non-graph attributes, in their ONNX order.
	Attrs []*onnxpb.AttributeProto
	// Bodies maps a graph attribute name (then_branch, else_branch, body)
	// to the qualified name of its submodule; only for CallModule. The
	// attribute itself stays in Attrs (with no graph) to keep its place.
	Bodies []Body
	// Captures are the values of enclosing graphs that the bodies read.
	Captures []*Value
	// Capture marks a body placeholder that stands for an outer value.
	Capture bool
	Meta    Meta
	// Proto is the node as loaded, kept for its doc string, overload and
	// metadata; nil for nodes made by passes.
	Proto *onnxpb.NodeProto
	// Initializer is the tensor of a GetAttr node.
	Initializer *onnxpb.TensorProto
	// AlsoInput marks an initializer that the model also lists as a graph
	// input (IR < 4 style, or an overridable default).
	AlsoInput bool
	graph     *Graph
	order     int64 // position key kept by the users index (users.go)
}

// Body is one graph attribute of a CallModule node.
type Body struct {
	Attr   string // then_branch, else_branch, body
	Module string // qualified submodule name
}

// Graph is an ordered list of nodes: placeholders first, the output node
// last, everything between in topological order.
type Graph struct {
	Nodes  []*Node
	values map[string]*Value
	// Proto keeps graph-level fields that have no node form (name, doc
	// string, value_info order, quantization annotations, metadata, sparse
	// initializers); its node, input, output and initializer lists are
	// rebuilt by Raise.
	Proto *onnxpb.GraphProto
	// Outer is the graph this one is a body of, nil at the top level.
	Outer *Graph
	// inputOrder is the order of the graph's input list as loaded.
	inputOrder []string
	names      map[string]bool
	// Module is the GraphModule this graph belongs to.
	Module *GraphModule
	// users indexes the readers of each value (users.go).
	users *usersIndex
	// pendingInits, while batching is on, are initializer nodes made by
	// NewInitializer and not yet in Nodes (BatchInitializers).
	pendingInits []*Node
	batching     bool
}

// GraphModule is a graph with its control-flow bodies as submodules.
type GraphModule struct {
	Name  string // qualified name, "" for the top level
	Graph *Graph
	// Submodules are the bodies directly owned by nodes of Graph, by
	// qualified name; nested bodies are submodules of those.
	Submodules map[string]*GraphModule
	// Order lists Submodules' keys in graph order, for deterministic walks.
	Order []string
	// Owner is the node of the parent graph that owns this body.
	Owner *Node
	// Model keeps the model-level fields (ir_version, opset imports,
	// producer, metadata, functions, training info); only on the root.
	Model *onnxpb.ModelProto
	// Dir resolves external data of initializers; only on the root.
	Dir string
	// Limits bound the tensors shape inference and the interpreter may
	// materialize and the Loop trips they may run; only on the root (zero
	// fields mean onnxio's defaults).
	Limits onnxio.Limits
	// Interrupt, when set, is polled by the long loops over a graph
	// (shape inference, constant folding, the transform passes, Q/DQ
	// conversion, the legality checks, raising, TFLite export): an error
	// from it stops them and is returned, so Ctrl-C ends a stage
	// promptly, not at its end. Only on the root; quantize.Run sets it to
	// its context's Err for the run. Nil never interrupts.
	Interrupt func() error
}

// Value returns the value with the given name visible in g (its own values
// first, then enclosing graphs'), or nil.
func (g *Graph) Value(name string) *Value {
	for s := g; s != nil; s = s.Outer {
		if v, ok := s.values[name]; ok {
			return v
		}
	}
	return nil
}

// OwnValue returns the value defined in g itself, or nil.
func (g *Graph) OwnValue(name string) *Value { return g.values[name] }

// Placeholders returns the graph-input placeholders (not captures), in order.
func (g *Graph) Placeholders() []*Node {
	var out []*Node
	for _, n := range g.Nodes {
		if n.Op == Placeholder && !n.Capture {
			out = append(out, n)
		}
	}
	return out
}

// OutputNode returns the output node.
func (g *Graph) OutputNode() *Node {
	if len(g.Nodes) == 0 {
		return nil
	}
	n := g.Nodes[len(g.Nodes)-1]
	if n.Op != Output {
		return nil
	}
	return n
}

// Graph returns the graph the node belongs to.
func (n *Node) Graph() *Graph { return n.graph }

// Walk calls fn for gm and every submodule below it, parents first.
func (gm *GraphModule) Walk(fn func(*GraphModule) error) error {
	if err := fn(gm); err != nil {
		return err
	}
	for _, name := range gm.Order {
		if err := gm.Submodules[name].Walk(fn); err != nil {
			return err
		}
	}
	return nil
}

// Submodule finds a submodule by qualified name anywhere below gm.
func (gm *GraphModule) Submodule(name string) *GraphModule {
	var found *GraphModule
	_ = gm.Walk(func(m *GraphModule) error {
		if m.Name == name {
			found = m
		}
		return nil
	})
	return found
}

// Interrupted polls the root's Interrupt: nil, or the error that stops
// the loop asking. Loops over nodes call it once per node.
func (gm *GraphModule) Interrupted() error {
	if gm == nil {
		return nil
	}
	if r := gm.Root(); r.Interrupt != nil {
		return r.Interrupt()
	}
	return nil
}

// Root returns the top-level GraphModule.
func (gm *GraphModule) Root() *GraphModule {
	r := gm
	for r.Owner != nil {
		r = r.Owner.graph.Module
	}
	return r
}

// Opset returns the version imported for a domain ("" and "ai.onnx" are the
// default domain), 0 when the model does not import it.
func (gm *GraphModule) Opset(domain string) int64 {
	root := gm.Root()
	if root.Model == nil {
		return 0
	}
	if domain == "ai.onnx" {
		domain = ""
	}
	for _, o := range root.Model.OpsetImport {
		d := o.GetDomain()
		if d == "ai.onnx" {
			d = ""
		}
		if d == domain {
			return o.GetVersion()
		}
	}
	return 0
}
