package lower

import (
	"fmt"
	"slices"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// Downgrades walk each node's history backwards: for every version step
// of its operator above the target and at most the model's opset, the
// step's down adapter (downHistory in opset_table.go) takes the node back
// to the form of the version before. A step without a down adapter is a
// refusal naming the node. Down adapters receive the final target opset
// rather than the step's version, because the ops they emit (a
// decomposition, a Slice after Shape) must be written in the target's form
// directly: they are not converted again.
//
// An adapter may turn the node into another operator (Dropout into
// Identity, CastLike into Cast); the walk then continues with the new
// operator's history from the same version. An adapter that replaces the
// node (a decomposition) ends its walk.

func (c *converter) downgrade(m *GraphModule, cur, target int64) error {
	g := m.Graph
	for _, n := range slices.Clone(g.Nodes) {
		if (n.Op != CallFunction && n.Op != CallModule) || !isDefaultDomain(n.Target.Domain) || g.Index(n) < 0 {
			continue
		}
		label := nodeLabel(m, n)
		for v := cur; v > target; v-- {
			op := n.Target.OpType
			hist, ok := opHistory[op]
			if !ok {
				return fmt.Errorf("convert opset %d down to %d: %s: no version history known for this operator", cur, target, label)
			}
			if !slices.ContainsFunc(hist, func(s opStep) bool { return s.version == v }) {
				continue
			}
			down := downAdapter(op, v)
			if down == nil {
				if hist[0].version == v {
					return fmt.Errorf("convert opset %d down to %d: %s: %s does not exist before opset %d and has no rewrite", cur, target, label, op, v)
				}
				return fmt.Errorf("convert opset %d down to %d: %s: %s changed at opset %d and no downgrade adapter handles it", cur, target, label, op, v)
			}
			if err := down(c, n, target); err != nil {
				return fmt.Errorf("convert opset %d down to %d: %s: back from %s-%d: %w", cur, target, label, op, v, err)
			}
			if g.Index(n) < 0 {
				break
			}
		}
	}
	return nil
}

func downAdapter(op string, v int64) adapter {
	for _, s := range downHistory[op] {
		if s.version == v {
			return s.adapt
		}
	}
	return nil
}

// ONNX tensor element types the version steps added.
const (
	tFloat    = int32(onnxpb.TensorProto_FLOAT)
	tUint8    = int32(onnxpb.TensorProto_UINT8)
	tInt8     = int32(onnxpb.TensorProto_INT8)
	tUint16   = int32(onnxpb.TensorProto_UINT16)
	tInt16    = int32(onnxpb.TensorProto_INT16)
	tInt32    = int32(onnxpb.TensorProto_INT32)
	tInt64    = int32(onnxpb.TensorProto_INT64)
	tString   = int32(onnxpb.TensorProto_STRING)
	tBool     = int32(onnxpb.TensorProto_BOOL)
	tFloat16  = int32(onnxpb.TensorProto_FLOAT16)
	tDouble   = int32(onnxpb.TensorProto_DOUBLE)
	tBFloat16 = int32(onnxpb.TensorProto_BFLOAT16)
	tFloat4   = int32(onnxpb.TensorProto_FLOAT4E2M1)
)

var (
	// float8 types, added across the board at 19.
	tFloat8 = []int32{17, 18, 19, 20}
	// 4-bit integer types, added at 21.
	tInt4 = []int32{21, 22}
	// The IEEE float types, all many ops accepted before widening.
	tFloats = []int32{tFloat16, tFloat, tDouble}
)

// compatible marks a step that changed nothing an older model could not
// express: downgrading across it leaves the node as it is.
func compatible(*converter, *Node, int64) error { return nil }

// withoutTypes is the down adapter of a step that only widened type
// constraints: the node goes back when none of its inputs and outputs has
// one of the added types. Values of unknown type are taken to be of an
// older type (the float, int64 and bool tensors models are made of).
func withoutTypes(added ...int32) adapter {
	return func(_ *converter, n *Node, _ int64) error {
		return checkTypes(n, func(dt int32) bool { return !slices.Contains(added, dt) })
	}
}

// onlyTypes is the down adapter of a step whose older version accepted
// only the listed types.
func onlyTypes(allowed ...int32) adapter {
	return func(_ *converter, n *Node, _ int64) error {
		return checkTypes(n, func(dt int32) bool { return slices.Contains(allowed, dt) })
	}
}

func checkTypes(n *Node, ok func(int32) bool) error {
	for _, vs := range [][]*Value{n.Inputs, n.Outputs} {
		for _, v := range vs {
			if dt := valueDType(v); v != nil && dt != 0 && !ok(dt) {
				return fmt.Errorf("value %q has type %s, which the older version does not accept", v.Name, onnxpb.TensorProto_DataType(dt))
			}
		}
	}
	return nil
}

// noSequences and noOptionals are the down adapters of If, Loop and
// Identity at 13/14 (sequence values) and 16 (optional values): the node
// goes back when every input and output is declared a tensor or not
// declared at all.
func noSequences(_ *converter, n *Node, _ int64) error {
	return checkKinds(n, func(t *onnxpb.TypeProto) bool { return t.GetSequenceType() == nil }, "sequence")
}

func noOptionals(_ *converter, n *Node, _ int64) error {
	return checkKinds(n, func(t *onnxpb.TypeProto) bool { return t.GetOptionalType() == nil }, "optional")
}

func checkKinds(n *Node, ok func(*onnxpb.TypeProto) bool, kind string) error {
	for _, vs := range [][]*Value{n.Inputs, n.Outputs} {
		for _, v := range vs {
			if v != nil && v.Info != nil && v.Info.Type != nil && !ok(v.Info.Type) {
				return fmt.Errorf("value %q is a %s, which the older version does not accept", v.Name, kind)
			}
		}
	}
	return nil
}

// both chains down adapters of one step.
func both(as ...adapter) adapter {
	return func(c *converter, n *Node, to int64) error {
		for _, a := range as {
			if err := a(c, n, to); err != nil {
				return err
			}
		}
		return nil
	}
}

// dropIntAttr is the down adapter of a step that added an integer
// attribute: absent or at its default it is dropped; any other value has
// no older equivalent.
func dropIntAttr(name string, def int64) adapter {
	return func(_ *converter, n *Node, _ int64) error {
		if a := n.Attr(name); a != nil {
			if a.GetI() != def {
				return fmt.Errorf("attribute %s=%d has no equivalent in the older version", name, a.GetI())
			}
			n.RemoveAttr(name)
		}
		return nil
	}
}

// dropStringAttr is dropIntAttr for a string attribute.
func dropStringAttr(name, def string) adapter {
	return func(_ *converter, n *Node, _ int64) error {
		if a := n.Attr(name); a != nil {
			if s := string(a.GetS()); s != def {
				return fmt.Errorf("attribute %s=%q has no equivalent in the older version", name, s)
			}
			n.RemoveAttr(name)
		}
		return nil
	}
}

// refuseString is the down adapter of a step that added one value of a
// string attribute (Pad's "wrap", Resize's "half_pixel_symmetric").
func refuseString(name string, added ...string) adapter {
	return func(_ *converter, n *Node, _ int64) error {
		if a := n.Attr(name); a != nil && slices.Contains(added, string(a.GetS())) {
			return fmt.Errorf("attribute %s=%q has no equivalent in the older version", name, a.GetS())
		}
		return nil
	}
}

// noInput is the down adapter of a step that added optional input i.
func noInput(i int, name string) adapter {
	return func(_ *converter, n *Node, _ int64) error {
		if i < len(n.Inputs) && n.Inputs[i] != nil {
			return fmt.Errorf("input %s is set; the older version has none", name)
		}
		trimInputs(n)
		return nil
	}
}

// onlyFirstOutput is the down adapter of a step that added optional
// outputs: the node goes back when nothing reads them.
func onlyFirstOutput(_ *converter, n *Node, _ int64) error {
	return dropExtraOutputs(n)
}

func dropExtraOutputs(n *Node) error {
	for _, v := range n.Outputs[1:] {
		if v != nil && (len(n.graph.Users(v)) > 0 || v.IsGraphOutput()) {
			return fmt.Errorf("output %q is read; the older version does not produce it", v.Name)
		}
	}
	for _, v := range n.Outputs[1:] {
		if v != nil && n.graph.values[v.Name] == v {
			delete(n.graph.values, v.Name)
		}
	}
	n.Outputs = n.Outputs[:1]
	return nil
}

// noAttr is the down adapter of a step that added an attribute without a
// default meaning "off".
func noAttr(name string) adapter {
	return func(_ *converter, n *Node, _ int64) error {
		if n.HasAttr(name) {
			return fmt.Errorf("attribute %s is set; the older version has none", name)
		}
		return nil
	}
}

// onesAttr is the down adapter of a step that added an ints attribute
// (pooling dilations) whose default is all ones.
func onesAttr(name string) adapter {
	return func(_ *converter, n *Node, _ int64) error {
		if a := n.Attr(name); a != nil {
			if slices.ContainsFunc(a.GetInts(), func(v int64) bool { return v != 1 }) {
				return fmt.Errorf("attribute %s=%v has no equivalent in the older version", name, a.GetInts())
			}
			n.RemoveAttr(name)
		}
		return nil
	}
}

// inferFacts runs shape inference over root and returns a function that
// puts back every existing value's declared type and shape. Inference
// failing (a model it cannot follow) only means fewer known facts.
func inferFacts(root *GraphModule) (restore func()) {
	type facts struct {
		dtype    int32
		shape    []Dim
		hasShape bool
	}
	saved := map[*Value]facts{}
	_ = root.Walk(func(m *GraphModule) error {
		for _, n := range m.Graph.Nodes {
			for _, v := range n.Outputs {
				if v != nil {
					saved[v] = facts{v.DType, slices.Clone(v.Shape), v.HasShape}
				}
			}
		}
		return nil
	})
	_ = InferShapes(root, nil)
	return func() {
		for v, f := range saved {
			v.DType, v.Shape, v.HasShape = f.dtype, f.shape, f.hasShape
		}
	}
}
