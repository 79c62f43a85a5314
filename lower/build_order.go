package lower

import (
	"fmt"
	"strings"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// nodeOrder returns the nodes of gp in an order where every node follows
// the producers of its inputs. ONNX requires the file's order to be one
// already, and then it is kept as it is; exporters that break the rule get
// their nodes sorted. A graph whose values depend on themselves is not a
// DAG and cannot be sorted: the error names the nodes of one cycle.
func nodeOrder(gp *onnxpb.GraphProto) ([]*onnxpb.NodeProto, error) {
	nodes := gp.GetNode()
	producer := make(map[string]int, len(nodes))
	for i, n := range nodes {
		for _, out := range n.GetOutput() {
			if out != "" {
				if _, dup := producer[out]; !dup {
					producer[out] = i
				}
			}
		}
	}
	sorted := true
	deps := make([][]int, len(nodes))
	for i, n := range nodes {
		for _, in := range nodeReads(n) {
			if p, ok := producer[in]; ok {
				deps[i] = append(deps[i], p)
				if p >= i {
					sorted = false
				}
			}
		}
	}
	if sorted {
		return nodes, nil
	}
	// Depth-first, keeping the file's order among independent nodes.
	const (
		unseen = iota
		active
		done
	)
	state := make([]int, len(nodes))
	order := make([]*onnxpb.NodeProto, 0, len(nodes))
	var stack []int
	var visit func(i int) error
	visit = func(i int) error {
		switch state[i] {
		case done:
			return nil
		case active:
			start := len(stack) - 1
			for stack[start] != i {
				start--
			}
			var names []string
			for _, j := range append(stack[start:], i) {
				names = append(names, fmt.Sprintf("%q (%s)", nodes[j].GetName(), nodes[j].GetOpType()))
			}
			return fmt.Errorf("graph %q is not a DAG: nodes %s form a cycle", gp.GetName(), strings.Join(names, " -> "))
		}
		state[i] = active
		stack = append(stack, i)
		for _, p := range deps[i] {
			if err := visit(p); err != nil {
				return err
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = done
		order = append(order, nodes[i])
		return nil
	}
	for i := range nodes {
		if err := visit(i); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// nodeReads lists the value names a node reads: its inputs and, through
// its graph attributes, the outer values its bodies use.
func nodeReads(n *onnxpb.NodeProto) []string {
	out := append([]string(nil), n.GetInput()...)
	for _, a := range n.GetAttribute() {
		if a.G != nil {
			out = append(out, bodyReads(a.G)...)
		}
	}
	return out
}

// bodyReads lists names a body reads that it does not define itself.
func bodyReads(g *onnxpb.GraphProto) []string {
	defined := map[string]bool{}
	for _, vi := range g.GetInput() {
		defined[vi.GetName()] = true
	}
	for _, t := range g.GetInitializer() {
		defined[t.GetName()] = true
	}
	for _, n := range g.GetNode() {
		for _, o := range n.GetOutput() {
			defined[o] = true
		}
	}
	var out []string
	for _, n := range g.GetNode() {
		for _, in := range nodeReads(n) {
			if !defined[in] {
				out = append(out, in)
			}
		}
	}
	for _, vi := range g.GetOutput() {
		if !defined[vi.GetName()] {
			out = append(out, vi.GetName())
		}
	}
	return out
}

// checkShadow checks an initializer that has the name of a graph input.
// Since IR version 4 that is an overridable default: the input may be fed,
// and the initializer is used when it is not. Both describe one tensor, so
// a type or a known size on which they disagree is an error naming both.
func checkShadow(vi *onnxpb.ValueInfoProto, t *onnxpb.TensorProto) error {
	tt := vi.GetType().GetTensorType()
	if tt == nil {
		return nil
	}
	name := t.GetName()
	if dt := tt.GetElemType(); dt != 0 && dt != t.GetDataType() {
		return fmt.Errorf("initializer %q is the default of graph input %q, but the input is declared %s and the initializer is %s",
			name, name, onnxpb.TensorProto_DataType(dt), onnxpb.TensorProto_DataType(t.GetDataType()))
	}
	if tt.GetShape() == nil {
		return nil
	}
	dims := tt.GetShape().GetDim()
	conflict := len(dims) != len(t.GetDims())
	for i := 0; !conflict && i < len(dims); i++ {
		if v, ok := dims[i].GetValue().(*onnxpb.TensorShapeProto_Dimension_DimValue); ok && v.DimValue != t.GetDims()[i] {
			conflict = true
		}
	}
	if conflict {
		var decl []string
		for _, d := range dims {
			if v, ok := d.GetValue().(*onnxpb.TensorShapeProto_Dimension_DimValue); ok {
				decl = append(decl, fmt.Sprint(v.DimValue))
			} else if p := d.GetDimParam(); p != "" {
				decl = append(decl, p)
			} else {
				decl = append(decl, "?")
			}
		}
		return fmt.Errorf("initializer %q is the default of graph input %q, but the input is declared [%s] and the initializer has shape %v",
			name, name, strings.Join(decl, ","), t.GetDims())
	}
	return nil
}
