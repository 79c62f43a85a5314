package lower

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// Lower builds the GraphModule of a model. dir is the folder external data
// is resolved against. Calls of model-local functions are inlined (see
// inlineFunctions; the GraphModule then holds a copy of the model without
// them). The model is not modified; the GraphModule keeps
// references to its tensors and node protos, so callers must not mutate the
// model while the GraphModule is in use.
func Lower(m *onnxpb.ModelProto, dir string) (*GraphModule, error) {
	if m.GetGraph() == nil {
		return nil, fmt.Errorf("model has no graph")
	}
	m, err := inlineFunctions(m)
	if err != nil {
		return nil, err
	}
	gm := &GraphModule{Model: m, Dir: dir}
	b := &builder{opsets: map[string]int64{}, dir: dir}
	for _, o := range m.OpsetImport {
		d := o.GetDomain()
		if d == "ai.onnx" {
			d = ""
		}
		b.opsets[d] = o.GetVersion()
		if d == "" && o.GetVersion() > maxKnownOpset {
			return nil, fmt.Errorf("the model imports opset %d of the default ONNX domain, newer than %d, the newest whose operators onnxquant knows: export the model at opset %d or older", o.GetVersion(), maxKnownOpset, maxKnownOpset)
		}
	}
	if err := b.graph(gm, m.Graph, nil); err != nil {
		return nil, err
	}
	if err := checkNodes(gm); err != nil {
		return nil, err
	}
	return gm, nil
}

type builder struct {
	opsets map[string]int64
	// dir resolves external data of sparse initializers, which are made
	// dense at load.
	dir string
}

func (b *builder) graph(gm *GraphModule, gp *onnxpb.GraphProto, outer *Graph) error {
	g := &Graph{values: map[string]*Value{}, Proto: gp, Outer: outer, Module: gm}
	gm.Graph = g
	gm.Submodules = map[string]*GraphModule{}
	infos := map[string]*onnxpb.ValueInfoProto{}
	for _, vi := range gp.ValueInfo {
		infos[vi.GetName()] = vi
	}
	for _, vi := range gp.Output {
		infos[vi.GetName()] = vi
	}
	initializers, err := b.denseInitializers(gp)
	if err != nil {
		return err
	}
	inits := map[string]*onnxpb.TensorProto{}
	for _, t := range initializers {
		inits[t.GetName()] = t
	}
	inputInfo := map[string]*onnxpb.ValueInfoProto{}
	for _, vi := range gp.Input {
		g.inputOrder = append(g.inputOrder, vi.GetName())
		inputInfo[vi.GetName()] = vi
		if _, isInit := inits[vi.GetName()]; isInit {
			continue
		}
		n := &Node{Name: uniqueName(g, sanitize(vi.GetName())), Op: Placeholder, Meta: Meta{SourceName: vi.GetName()}}
		if err := g.define(n, vi.GetName(), vi); err != nil {
			return err
		}
		g.Nodes = append(g.Nodes, n)
	}
	for _, t := range initializers {
		name := t.GetName()
		if name == "" {
			return fmt.Errorf("graph %q: initializer without a name", gp.GetName())
		}
		n := &Node{Name: uniqueName(g, sanitize(name)), Op: GetAttr, Initializer: t, Meta: Meta{SourceName: name}}
		vi := inputInfo[name]
		n.AlsoInput = vi != nil
		if vi != nil {
			if err := checkShadow(vi, t); err != nil {
				return err
			}
		}
		if vi == nil {
			vi = infos[name]
		}
		if err := g.define(n, name, vi); err != nil {
			return err
		}
		v := n.Outputs[0]
		if vi == nil || vi.GetType() == nil {
			v.DType = t.GetDataType()
			v.Shape = dimsOf(t.Dims)
			v.HasShape = true
		}
		g.Nodes = append(g.Nodes, n)
	}
	ordered, err := nodeOrder(gp)
	if err != nil {
		return err
	}
	counts := map[string]int{}
	for i, np := range ordered {
		n := &Node{Op: CallFunction, Proto: np, Meta: moduleMeta(np)}
		n.Target = Target{Domain: np.GetDomain(), OpType: np.GetOpType(), Version: b.opsets[normDomain(np.GetDomain())]}
		if n.Target.Version == 0 {
			return fmt.Errorf("node %q (%s): unknown domain %q: the model imports no opset for it", np.GetName(), np.GetOpType(), np.GetDomain())
		}
		base := sanitize(np.GetName())
		if base == "" {
			base = fmt.Sprintf("%s_%d", strings.ToLower(np.GetOpType()), i)
		}
		n.Name = uniqueName(g, base)
		n.graph = g
		for _, in := range np.Input {
			if in == "" {
				n.SetInputs(append(n.Inputs, nil))
				continue
			}
			v, err := g.resolve(in)
			if err != nil {
				return fmt.Errorf("node %q (%s): input %q: %w", np.GetName(), np.GetOpType(), in, err)
			}
			n.SetInputs(append(n.Inputs, v))
		}
		var bodies []*onnxpb.AttributeProto
		for _, a := range np.Attribute {
			switch {
			case a.G != nil:
				bodies = append(bodies, a)
				n.Attrs = append(n.Attrs, &onnxpb.AttributeProto{Name: a.Name, Type: a.Type})
			case len(a.Graphs) > 0:
				return fmt.Errorf("node %q (%s): attribute %q holds a list of graphs, which no supported operator uses", np.GetName(), np.GetOpType(), a.GetName())
			default:
				n.Attrs = append(n.Attrs, a)
			}
		}
		if len(bodies) > 0 {
			n.Op = CallModule
			k := counts[np.GetOpType()]
			counts[np.GetOpType()]++
			for _, a := range bodies {
				qual := fmt.Sprintf("%s_%d.%s", np.GetOpType(), k, a.GetName())
				if gm.Name != "" {
					qual = gm.Name + "." + qual
				}
				sub := &GraphModule{Name: qual, Owner: n}
				if err := b.graph(sub, a.G, g); err != nil {
					return fmt.Errorf("node %q (%s) %s: %w", np.GetName(), np.GetOpType(), a.GetName(), err)
				}
				gm.Submodules[qual] = sub
				gm.Order = append(gm.Order, qual)
				n.Bodies = append(n.Bodies, Body{Attr: a.GetName(), Module: qual})
			}
		}
		for j, out := range np.Output {
			if out == "" {
				n.Outputs = append(n.Outputs, nil)
				continue
			}
			if g.values[out] != nil {
				return fmt.Errorf("node %q (%s): output %q is already produced by %q", np.GetName(), np.GetOpType(), out, g.values[out].Producer.Meta.SourceName)
			}
			v := &Value{Name: out, Producer: n, Index: j}
			if vi := infos[out]; vi != nil {
				setType(v, vi)
			}
			g.values[out] = v
			n.Outputs = append(n.Outputs, v)
		}
		g.Nodes = append(g.Nodes, n)
	}
	outNode := &Node{Name: uniqueName(g, "output"), Op: Output, graph: g}
	for _, vi := range gp.Output {
		v, err := g.resolve(vi.GetName())
		if err != nil {
			return fmt.Errorf("graph output %q: %w", vi.GetName(), err)
		}
		if v.Info == nil {
			setType(v, vi)
		}
		outNode.SetInputs(append(outNode.Inputs, v))
	}
	g.Nodes = append(g.Nodes, outNode)
	return nil
}

// define makes n the producer of a single value called name.
func (g *Graph) define(n *Node, name string, vi *onnxpb.ValueInfoProto) error {
	if g.values[name] != nil {
		return fmt.Errorf("value %q is defined twice", name)
	}
	v := &Value{Name: name, Producer: n}
	if vi != nil {
		setType(v, vi)
	}
	n.Outputs = []*Value{v}
	n.graph = g
	g.values[name] = v
	return nil
}

// resolve finds the value a node input names. A value of an enclosing graph
// becomes a capture placeholder of g (and of every graph in between), and a
// capture of the node that owns g.
func (g *Graph) resolve(name string) (*Value, error) {
	if v, ok := g.values[name]; ok {
		return v, nil
	}
	if g.Outer == nil {
		return nil, fmt.Errorf("no node, graph input or initializer produces it")
	}
	outer, err := g.Outer.resolve(name)
	if err != nil {
		return nil, err
	}
	n := &Node{Name: uniqueName(g, sanitize(name)), Op: Placeholder, Capture: true, Meta: Meta{SourceName: name}}
	v := &Value{Name: name, Producer: n, DType: outer.DType, Shape: outer.Shape, HasShape: outer.HasShape}
	n.Outputs = []*Value{v}
	n.graph = g
	g.values[name] = v
	// Captures sit after the graph inputs and before everything else.
	pos := 0
	for pos < len(g.Nodes) && g.Nodes[pos].Op == Placeholder {
		pos++
	}
	g.Nodes = append(g.Nodes[:pos], append([]*Node{n}, g.Nodes[pos:]...)...)
	owner := g.Module.Owner
	if owner != nil && !containsValue(owner.Captures, outer) {
		owner.SetCaptures(append(owner.Captures, outer))
	}
	return v, nil
}

func containsValue(vs []*Value, v *Value) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}

func setType(v *Value, vi *onnxpb.ValueInfoProto) {
	v.Info = vi
	tt := vi.GetType().GetTensorType()
	if tt == nil {
		return
	}
	v.DType = tt.GetElemType()
	if tt.Shape != nil {
		v.HasShape = true
		v.Shape = make([]Dim, len(tt.Shape.Dim))
		for i, d := range tt.Shape.Dim {
			switch {
			case d.GetDimParam() != "":
				v.Shape[i] = Dim{Value: -1, Param: d.GetDimParam()}
			case d.Value != nil:
				v.Shape[i] = Dim{Value: d.GetDimValue()}
			default:
				v.Shape[i] = UnknownDim()
			}
		}
	}
}

func dimsOf(dims []int64) []Dim {
	out := make([]Dim, len(dims))
	for i, d := range dims {
		out[i] = Dim{Value: d}
	}
	return out
}

func normDomain(d string) string {
	if d == "ai.onnx" {
		return ""
	}
	return d
}

var nonIdent = regexp.MustCompile(`[^A-Za-z0-9_]+`)

// sanitize turns an ONNX name into an identifier-like node name.
func sanitize(s string) string {
	s = strings.Trim(nonIdent.ReplaceAllString(s, "_"), "_")
	return s
}

// uniqueName returns base, or base_N, unused by the nodes of g, and
// reserves it.
func uniqueName(g *Graph, base string) string {
	if base == "" {
		base = "node"
	}
	if g.names == nil {
		g.names = map[string]bool{}
	}
	name := base
	for i := 1; g.names[name]; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	g.names[name] = true
	return name
}

// denseInitializers returns gp's initializers followed by its sparse
// initializers made dense (onnxio.SparseToDense validates them and bounds
// their size before allocating): the rest of the tool, and the model it
// writes, see ordinary initializers.
func (b *builder) denseInitializers(gp *onnxpb.GraphProto) ([]*onnxpb.TensorProto, error) {
	if len(gp.GetSparseInitializer()) == 0 {
		return gp.GetInitializer(), nil
	}
	out := slices.Clone(gp.GetInitializer())
	for _, sp := range gp.GetSparseInitializer() {
		t, err := onnxio.SparseToDense(sp, b.dir, onnxio.Limits{})
		if err != nil {
			return nil, fmt.Errorf("graph %q: sparse initializer: %w", gp.GetName(), err)
		}
		out = append(out, t)
	}
	return out, nil
}
