package lower

import (
	"errors"
	"fmt"
	"slices"

	"github.com/onnxquant/onnxquant/onnxio"
)

// ShapeError reports a shape inference failure that is certain: two known
// sizes that the operator requires to agree do not. Node is the name of the
// node (as loaded) and Module the qualified submodule ("" at top level).
type ShapeError struct {
	Module, Node, OpType string
	Err                  error
}

func (e *ShapeError) Error() string {
	where := fmt.Sprintf("node %q (%s)", e.Node, e.OpType)
	if e.Module != "" {
		where = fmt.Sprintf("%s: %s", e.Module, where)
	}
	return fmt.Sprintf("shape inference: %s: %v", where, e.Err)
}

func (e *ShapeError) Unwrap() error { return e.Err }

// InferShapes fills DType, Shape and HasShape of every value of gm and of
// every body below it. inputShapes binds the top-level graph inputs by name
// (a -1 entry keeps what the model declares for that dimension; nil keeps
// all symbols). Constant values (initializers, Constant nodes, and int64
// shape arithmetic on them, including Shape of a fully known shape) are
// evaluated so Reshape, Slice, Expand and friends get exact shapes.
//
// What inference learns overrides what the model declared; where it learns
// nothing (unknown ops, data-dependent sizes) the declared type stays.
// Unknown operators are not an error. A certain mismatch (known sizes that
// cannot broadcast, a MatMul whose inner sizes differ) is a *ShapeError.
func InferShapes(gm *GraphModule, inputShapes map[string][]int64) error {
	root := gm.Root()
	inf := &inferer{dir: root.Dir, consts: map[*Value]*cTensor{}, syms: map[*Value]symVal{}, limits: root.Limits}
	for _, p := range gm.Graph.Placeholders() {
		dims, ok := inputShapes[p.Outputs[0].Name]
		if !ok {
			continue
		}
		v := p.Outputs[0]
		shape := make([]Dim, len(dims))
		for i, d := range dims {
			switch {
			case d >= 0:
				shape[i] = Dim{Value: d}
			case v.HasShape && len(v.Shape) == len(dims):
				shape[i] = v.Shape[i]
			default:
				shape[i] = UnknownDim()
			}
		}
		v.Shape, v.HasShape = shape, true
	}
	return inf.graph(gm)
}

// inferer carries the constant values found so far, across all bodies:
// a body reads the constants of the graphs around it through captures.
type inferer struct {
	dir    string
	consts map[*Value]*cTensor
	syms   map[*Value]symVal
	limits onnxio.Limits
}

// vtype is what inference knows about one value.
type vtype struct {
	dtype int32
	shape []Dim
	known bool // the rank (shape) is known
}

func typeOf(v *Value) vtype {
	if v == nil {
		return vtype{}
	}
	return vtype{dtype: v.DType, shape: v.Shape, known: v.HasShape}
}

func (inf *inferer) graph(gm *GraphModule) error {
	g := gm.Graph
	for _, n := range g.Nodes {
		if err := gm.Interrupted(); err != nil {
			return err
		}
		if err := inf.safeNode(gm, n); err != nil {
			var se *ShapeError
			if errors.As(err, &se) {
				return err
			}
			name := n.Meta.SourceName
			if name == "" {
				name = n.Name
			}
			return &ShapeError{Module: gm.Name, Node: name, OpType: n.Target.OpType, Err: err}
		}
	}
	return nil
}

func (inf *inferer) node(gm *GraphModule, n *Node) error {
	switch n.Op {
	case Placeholder:
		if n.Capture && gm.Graph.Outer != nil {
			v := n.Outputs[0]
			if outer := gm.Graph.Outer.Value(v.Name); outer != nil {
				v.DType, v.Shape, v.HasShape = outer.DType, outer.Shape, outer.HasShape
				if c := inf.consts[outer]; c != nil {
					inf.consts[v] = c
				} else {
					delete(inf.consts, v)
				}
				if s, ok := inf.syms[outer]; ok {
					inf.syms[v] = s
				} else {
					delete(inf.syms, v)
				}
			}
		}
		return nil
	case GetAttr:
		v := n.Outputs[0]
		t := n.Initializer
		v.DType, v.Shape, v.HasShape = t.GetDataType(), dimsOf(t.GetDims()), true
		if !n.AlsoInput {
			if c, err := cTensorFromProto(t, inf.dir, maxConstElems); err == nil {
				inf.consts[v] = c
			}
		}
		return nil
	case Output:
		return nil
	case CallModule:
		return inf.module(gm, n)
	}
	if n.Target.Domain != "" && n.Target.Domain != "ai.onnx" {
		return nil
	}
	outs, err := inf.rule(n)
	if err != nil {
		return err
	}
	for i, t := range outs {
		if i < len(n.Outputs) && n.Outputs[i] != nil {
			setInferred(n.Outputs[i], t)
		}
	}
	if err := inf.checkOutputSizes(n); err != nil {
		return err
	}
	inf.evalConst(n)
	inf.trackSym(n)
	return nil
}

// evalConst records the outputs of n as constants when its inputs are.
func (inf *inferer) evalConst(n *Node) {
	for _, v := range n.Outputs {
		if v != nil {
			delete(inf.consts, v)
		}
	}
	if len(n.Outputs) != 1 || n.Outputs[0] == nil {
		return
	}
	out := n.Outputs[0]
	switch n.Target.OpType {
	case "Shape", "Size":
		in := n.Inputs[0]
		if in == nil || !in.HasShape {
			return
		}
		shape := make([]int64, len(in.Shape))
		for i, d := range in.Shape {
			if !d.Known() {
				return
			}
			shape[i] = d.Value
		}
		res, err := evalNode(n, []*cTensor{{DType: in.DType, Shape: shape}}, inf.dir)
		if err == nil {
			inf.setConst(out, res[0])
		}
		return
	}
	ins := make([]*cTensor, len(n.Inputs))
	for i, v := range n.Inputs {
		if v == nil {
			continue
		}
		c := inf.consts[v]
		if c == nil {
			return
		}
		ins[i] = c
	}
	res, err := evalNode(n, ins, inf.dir)
	if err != nil {
		return
	}
	inf.setConst(out, res[0])
}

func (inf *inferer) setConst(v *Value, c *cTensor) {
	inf.consts[v] = c
	v.DType = c.DType
	v.Shape, v.HasShape = dimsOf(c.Shape), true
}

// setInferred merges an inferred type into a value: known facts replace
// declared ones; where inference knows nothing the declaration stays.
func setInferred(v *Value, t vtype) {
	if t.dtype != 0 {
		v.DType = t.dtype
	}
	if !t.known {
		return
	}
	if !v.HasShape || len(v.Shape) != len(t.shape) {
		v.Shape, v.HasShape = slices.Clone(t.shape), true
		return
	}
	shape := slices.Clone(v.Shape)
	for i, d := range t.shape {
		if d.Known() || (d.Param != "" && !shape[i].Known()) {
			shape[i] = d
		}
	}
	v.Shape = shape
}

// module infers the bodies of If and Loop (and Scan's outer shapes
// loosely) and the node's outputs from them.
func (inf *inferer) module(gm *GraphModule, n *Node) error {
	switch n.Target.OpType {
	case "If":
		return inf.ifNode(n)
	case "Loop":
		return inf.loopNode(n)
	}
	for _, b := range n.Bodies {
		if sub := gm.Submodules[b.Module]; sub != nil {
			if err := inf.graph(sub); err != nil {
				return err
			}
		}
	}
	return nil
}

func bodyOutputs(sub *GraphModule) []*Value {
	if out := sub.Graph.OutputNode(); out != nil {
		return out.Inputs
	}
	return nil
}

func (inf *inferer) ifNode(n *Node) error {
	var branches [][]*Value
	for _, attr := range []string{"then_branch", "else_branch"} {
		sub := n.Body(attr)
		if sub == nil {
			return nil
		}
		if err := inf.graph(sub); err != nil {
			return err
		}
		branches = append(branches, bodyOutputs(sub))
	}
	// A constant condition picks its branch; otherwise outputs are the
	// common generalisation of both branches.
	pick := -1
	if c := inf.consts[n.Inputs[0]]; c != nil && c.Len() == 1 {
		pick = 1
		if c.int(0) != 0 {
			pick = 0
		}
	}
	for i, v := range n.Outputs {
		if v == nil || i >= len(branches[0]) || i >= len(branches[1]) {
			continue
		}
		a, b := typeOf(branches[0][i]), typeOf(branches[1][i])
		switch pick {
		case 0:
			setInferred(v, a)
		case 1:
			setInferred(v, b)
		default:
			setInferred(v, mergeTypes(a, b))
		}
	}
	return nil
}

// mergeTypes is the most precise type both a and b satisfy.
func mergeTypes(a, b vtype) vtype {
	t := vtype{dtype: a.dtype}
	if a.dtype != b.dtype {
		t.dtype = 0
		if a.dtype == 0 {
			t.dtype = b.dtype
		} else if b.dtype == 0 {
			t.dtype = a.dtype
		}
	}
	if !a.known || !b.known || len(a.shape) != len(b.shape) {
		return t
	}
	t.known = true
	t.shape = make([]Dim, len(a.shape))
	for i := range a.shape {
		if a.shape[i] == b.shape[i] {
			t.shape[i] = a.shape[i]
		} else {
			t.shape[i] = UnknownDim()
		}
	}
	return t
}

func (inf *inferer) loopNode(n *Node) error {
	sub := n.Body("body")
	if sub == nil {
		return nil
	}
	ph := sub.Graph.Placeholders()
	int64T, boolT := int32(7), int32(9)
	carried := make([]vtype, 0, len(n.Inputs))
	for _, v := range n.Inputs[min(2, len(n.Inputs)):] {
		carried = append(carried, typeOf(v))
	}
	bind := func() {
		for i, p := range ph {
			v := p.Outputs[0]
			delete(inf.consts, v)
			switch {
			case i == 0:
				v.DType, v.Shape, v.HasShape = int64T, []Dim{}, true
			case i == 1:
				v.DType, v.Shape, v.HasShape = boolT, []Dim{}, true
			case i-2 < len(carried):
				t := carried[i-2]
				if t.dtype != 0 {
					v.DType = t.dtype
				}
				v.Shape, v.HasShape = slices.Clone(t.shape), t.known
			}
		}
	}
	bind()
	if err := inf.graph(sub); err != nil {
		return err
	}
	outs := bodyOutputs(sub)
	// A carried value whose shape changes between iterations: generalise
	// and infer the body once more.
	changed := false
	for i := range carried {
		if 1+i < len(outs) {
			m := mergeTypes(carried[i], typeOf(outs[1+i]))
			if !slices.Equal(m.shape, carried[i].shape) || m.known != carried[i].known {
				carried[i], changed = m, true
			}
		}
	}
	if changed {
		bind()
		if err := inf.graph(sub); err != nil {
			return err
		}
		outs = bodyOutputs(sub)
	}
	nCarried := len(carried)
	for i, v := range n.Outputs {
		if v == nil || 1+i >= len(outs) {
			continue
		}
		t := typeOf(outs[1+i])
		if i < nCarried {
			setInferred(v, mergeTypes(carried[i], t))
			continue
		}
		// Scan outputs stack one slice per iteration.
		st := vtype{dtype: t.dtype}
		if t.known {
			st.known = true
			st.shape = append([]Dim{UnknownDim()}, t.shape...)
		}
		setInferred(v, st)
	}
	return nil
}
