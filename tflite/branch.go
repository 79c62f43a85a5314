package tflite

import (
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// SelectBranch returns a copy of m in which one If node is replaced by
// one of its branches, for exporting each path of a data-dependent If as
// its own NPU model. path is the conditional submodule as `onnxquant
// inspect` lists it ("If_0.then_branch": the first top-level If) or the If
// node's own name with ".then_branch" / ".else_branch". Nodes, inputs and
// initializers that only the condition needed are dropped. m is not
// modified.
func SelectBranch(m *onnxio.Model, path string) (*onnxio.Model, error) {
	dot := strings.LastIndex(path, ".")
	if dot < 0 {
		return nil, fmt.Errorf("--branch %q: want IF.then_branch or IF.else_branch", path)
	}
	name, attrName := path[:dot], path[dot+1:]
	if attrName == "body" {
		return nil, fmt.Errorf("--branch %q: a Loop body cannot be chosen, its trip count depends on the data; only If branches can", path)
	}
	if attrName != "then_branch" && attrName != "else_branch" {
		return nil, fmt.Errorf("--branch %q: want IF.then_branch or IF.else_branch", path)
	}
	out := &onnxio.Model{Proto: proto.Clone(m.Proto).(*onnxpb.ModelProto), Dir: m.Dir}
	g := out.Proto.GetGraph()
	var ifs []int
	at := -1
	for i, n := range g.Node {
		if n.GetOpType() != "If" {
			continue
		}
		ifs = append(ifs, i)
		if n.GetName() == name {
			at = i
		}
	}
	if at < 0 && strings.HasPrefix(name, "If_") {
		if k, err := strconv.Atoi(name[3:]); err == nil && k >= 0 && k < len(ifs) {
			at = ifs[k]
		}
	}
	if at < 0 {
		var names []string
		for k, i := range ifs {
			names = append(names, fmt.Sprintf("If_%d (%q)", k, g.Node[i].GetName()))
		}
		return nil, fmt.Errorf("--branch %q: no top-level If named %q; the model has %s", path, name, strings.Join(names, ", "))
	}
	ifNode := g.Node[at]
	body := attr(ifNode, attrName).GetG()
	if body == nil {
		return nil, fmt.Errorf("--branch %q: the If has no %s", path, attrName)
	}
	if len(body.Output) != len(ifNode.Output) {
		return nil, fmt.Errorf("--branch %q: %d branch outputs for %d If outputs", path, len(body.Output), len(ifNode.Output))
	}
	spliced := append([]*onnxpb.NodeProto(nil), g.Node[:at]...)
	spliced = append(spliced, body.Node...)
	for i, o := range body.Output {
		spliced = append(spliced, &onnxpb.NodeProto{
			OpType: proto.String("Identity"), Name: proto.String(ifNode.GetName() + "/" + attrName + "/output_" + strconv.Itoa(i)),
			Input: []string{o.GetName()}, Output: []string{ifNode.Output[i]},
		})
	}
	spliced = append(spliced, g.Node[at+1:]...)
	g.Node = spliced
	g.Initializer = append(g.Initializer, body.Initializer...)
	prune(g)
	return out, nil
}

// prune drops nodes, inputs and initializers the graph outputs do not need.
func prune(g *onnxpb.GraphProto) {
	need := map[string]bool{}
	for _, o := range g.Output {
		need[o.GetName()] = true
	}
	keep := make([]bool, len(g.Node))
	for i := len(g.Node) - 1; i >= 0; i-- {
		n := g.Node[i]
		for _, o := range n.Output {
			keep[i] = keep[i] || need[o]
		}
		if keep[i] {
			for _, in := range n.Input {
				need[in] = true
			}
			// Loop and If bodies read outer names directly.
			for _, name := range bodyReads(n) {
				need[name] = true
			}
		}
	}
	var nodes []*onnxpb.NodeProto
	for i, n := range g.Node {
		if keep[i] {
			nodes = append(nodes, n)
		}
	}
	g.Node = nodes
	var inputs []*onnxpb.ValueInfoProto
	for _, in := range g.Input {
		if need[in.GetName()] {
			inputs = append(inputs, in)
		}
	}
	g.Input = inputs
	var inits []*onnxpb.TensorProto
	for _, t := range g.Initializer {
		if need[t.GetName()] {
			inits = append(inits, t)
		}
	}
	g.Initializer = inits
}

// bodyReads lists every name the nodes of n's graph attributes (nested
// too) read, names defined inside included: an over-approximation of the
// outer names they capture.
func bodyReads(n *onnxpb.NodeProto) []string {
	var out []string
	for _, a := range n.Attribute {
		graphs := a.Graphs
		if a.G != nil {
			graphs = append(graphs, a.G)
		}
		for _, g := range graphs {
			for _, bn := range g.Node {
				out = append(out, bn.Input...)
				out = append(out, bodyReads(bn)...)
			}
			for _, o := range g.Output {
				out = append(out, o.GetName())
			}
		}
	}
	return out
}
