package lower

import (
	"errors"
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// FoldConstants replaces computations whose inputs are all constant by
// initializers, in gm and in every body below it:
//
//   - Constant nodes become initializers (of any size: they already are
//     constants, only the form changes);
//   - Identity of a constant is bypassed;
//   - shape arithmetic (Shape of a fully known shape, Gather, Concat,
//     Unsqueeze, Slice, Cast, Add/Mul..., Range, ConstantOfShape, ...)
//     and other small computations on constants are evaluated, when the
//     result has at most maxConstElems elements. Heavy float compute
//     (Conv, MatMul, ...) is never folded: the evaluator does not do it.
//
// Run InferShapes with fixed input shapes first to let Shape nodes fold.
// A body sees the constants of the graphs around it through its captures.
// Values the graph returns keep their names: a folded graph output is
// produced by an Identity of the new initializer (or stays a Constant), so
// the model's interface does not change. Initializers that are also graph
// inputs can be overridden at run time and are not treated as constant.
// Nodes made dead by folding are removed. It reports whether anything
// changed.
func FoldConstants(gm *GraphModule) (bool, error) {
	f := &folder{dir: gm.Root().Dir, consts: map[*Value]*cTensor{}}
	err := gm.Walk(func(m *GraphModule) error { return f.graph(m) })
	return f.changed, err
}

type folder struct {
	dir     string
	consts  map[*Value]*cTensor
	changed bool
}

func (f *folder) graph(gm *GraphModule) error {
	g := gm.Graph
	outputs := map[*Value]bool{}
	if out := g.OutputNode(); out != nil {
		for _, v := range out.Inputs {
			outputs[v] = true
		}
	}
	// Snapshot: folding rewrites g.Nodes.
	nodes := slices.Clone(g.Nodes)
	var candidates []*Node
	for _, n := range nodes {
		if err := gm.Interrupted(); err != nil {
			return err
		}
		switch n.Op {
		case Placeholder:
			if n.Capture && g.Outer != nil {
				if outer := g.Outer.Value(n.Outputs[0].Name); outer != nil {
					if c := f.consts[outer]; c != nil {
						f.consts[n.Outputs[0]] = c
					}
				}
			}
			continue
		case GetAttr:
			if !n.AlsoInput {
				if c, err := cTensorFromProto(n.Initializer, f.dir, maxConstElems); err == nil {
					f.consts[n.Outputs[0]] = c
				}
			}
			continue
		case CallFunction:
		default:
			continue
		}
		if n.Target.Domain != "" && n.Target.Domain != "ai.onnx" {
			continue
		}
		if len(n.Outputs) != 1 || n.Outputs[0] == nil {
			continue
		}
		out := n.Outputs[0]
		isOutput := outputs[out]
		if n.Target.OpType == "Constant" {
			if isOutput {
				// A Constant already is the simplest valid producer of a
				// graph output.
				if c, err := constantValue(n, f.dir, maxConstElems); err == nil {
					f.consts[out] = c
				}
				continue
			}
			t := ConstantNodeTensor(n)
			if t == nil {
				continue
			}
			t = proto.Clone(t).(*onnxpb.TensorProto)
			nv := f.replaceWithInitializer(g, n, t)
			if c, err := cTensorFromProto(t, f.dir, maxConstElems); err == nil {
				f.consts[nv] = c
			}
			continue
		}
		// An initializer too large to evaluate is bypassed all the same
		// (exporters share weights between layers through Identity; left
		// in place, the copy would be quantized as an activation).
		bigInit := n.Target.OpType == "Identity" && n.Inputs[0] != nil && n.Inputs[0].IsInitializer(ThisGraph) && !n.Inputs[0].Producer.AlsoInput
		if n.Target.OpType == "Identity" && n.Inputs[0] != nil && (f.consts[n.Inputs[0]] != nil || bigInit) {
			if isOutput {
				if c := f.consts[n.Inputs[0]]; c != nil {
					f.consts[out] = c
				}
				continue
			}
			if c := f.consts[n.Inputs[0]]; c != nil {
				f.consts[out] = c
			}
			candidates = append(candidates, n.Inputs[0].Producer)
			g.ReplaceAllUses(out, n.Inputs[0])
			g.RemoveNode(n)
			f.changed = true
			continue
		}
		c, err := f.eval(n)
		if errors.Is(err, errNoEval) || c == nil {
			continue
		}
		if err != nil {
			return fmt.Errorf("fold: %s: node %q (%s): %w", moduleLabel(gm), n.Name, n.Target.OpType, err)
		}
		for _, in := range n.Inputs {
			if in != nil && in.Producer != nil {
				candidates = append(candidates, in.Producer)
			}
		}
		if isOutput {
			// Keep the output's name on an Identity of the new constant.
			init := g.NewInitializer(out.Name+"_folded", c.toProto(""))
			f.consts[init] = c
			n.Target.OpType = "Identity"
			n.SetInputs([]*Value{init})
			n.Attrs = nil
			n.Proto = nil
			f.consts[out] = c
			f.changed = true
			continue
		}
		nv := f.replaceWithInitializer(g, n, c.toProto(""))
		f.consts[nv] = c
	}
	f.removeDead(g, candidates, outputs)
	return nil
}

func moduleLabel(gm *GraphModule) string {
	if gm.Name == "" {
		return "main graph"
	}
	return gm.Name
}

// eval computes a node's single output when all its inputs are constant
// (Shape and Size need only a fully known input shape).
func (f *folder) eval(n *Node) (*cTensor, error) {
	switch n.Target.OpType {
	case "Shape", "Size":
		in := n.Inputs[0]
		if in == nil || !in.HasShape {
			return nil, errNoEval
		}
		shape := make([]int64, len(in.Shape))
		for i, d := range in.Shape {
			if !d.Known() {
				return nil, errNoEval
			}
			shape[i] = d.Value
		}
		res, err := evalNode(n, []*cTensor{{DType: in.DType, Shape: shape}}, f.dir)
		if err != nil {
			return nil, err
		}
		return res[0], nil
	}
	if len(n.Inputs) == 0 {
		return nil, errNoEval // random generators and the like
	}
	ins := make([]*cTensor, len(n.Inputs))
	for i, v := range n.Inputs {
		if v == nil {
			continue
		}
		if ins[i] = f.consts[v]; ins[i] == nil {
			return nil, errNoEval
		}
	}
	res, err := evalNode(n, ins, f.dir)
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

// replaceWithInitializer swaps node n (one output) for an initializer
// holding t under the output's name.
func (f *folder) replaceWithInitializer(g *Graph, n *Node, t *onnxpb.TensorProto) *Value {
	old := n.Outputs[0]
	g.RemoveNode(n)
	nv := g.NewInitializer(old.Name, t)
	nv.Info = old.Info
	g.ReplaceAllUses(old, nv)
	f.changed = true
	return nv
}

// removeDead deletes the given producers (and, transitively, theirs) once
// nothing reads them; graph inputs and outputs stay.
func (f *folder) removeDead(g *Graph, candidates []*Node, outputs map[*Value]bool) {
	for len(candidates) > 0 {
		n := candidates[len(candidates)-1]
		candidates = candidates[:len(candidates)-1]
		if n.Graph() != g || g.Index(n) < 0 || (n.Op != CallFunction && n.Op != GetAttr) {
			continue
		}
		if n.Op == GetAttr && n.AlsoInput {
			continue
		}
		used := false
		for _, v := range n.Outputs {
			if v != nil && (outputs[v] || len(g.Users(v)) > 0) {
				used = true
			}
		}
		if used || (n.Op == CallFunction && !removableOp(n)) {
			continue
		}
		g.RemoveNode(n)
		f.changed = true
		for _, in := range n.Inputs {
			if in != nil && in.Producer != nil {
				candidates = append(candidates, in.Producer)
			}
		}
	}
}

// removableOp reports whether a node can go when its outputs are unused:
// only the side-effect-free ops the folder itself deals with.
func removableOp(n *Node) bool {
	if n.Target.Domain != "" && n.Target.Domain != "ai.onnx" {
		return false
	}
	switch n.Target.OpType {
	case "Constant", "Identity", "Shape", "Size", "Cast", "Gather", "Concat", "Unsqueeze", "Squeeze", "Slice",
		"Reshape", "Expand", "ConstantOfShape", "Range", "Add", "Sub", "Mul", "Div", "Equal", "Where",
		"ReduceProd", "ReduceSum", "ReduceMin", "ReduceMax", "Transpose", "Neg", "Abs", "Min", "Max":
		return true
	}
	return false
}
