package lower

import (
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// ConvertOpset moves the default ONNX domain of the model to opset target,
// rewriting every node whose operator changed meaning on the way (see
// opHistory in opset_table.go for which ops changed when, and their
// adapters). Upgrades go from any opset in 7..23 to any later one up to
// 23. Downgrades go back to any opset from 7 through the steps' down
// adapters (downHistory, opset_down.go): type-only changes when no value
// has a type the older version lacks, new attributes when absent or at
// their default, inputs that replaced attributes when constant, and ops
// newer than the target rewritten into older ones (HardSwish,
// LayerNormalization, Gelu...).
//
// No upgrade adapter needs a known shape: where the old meaning depends on
// the rank (Softmax before 13), an unknown rank gets a rank-agnostic
// rewrite instead of an error. Down adapters read types and ranks inferred
// for the occasion (InferShapes; the model's declarations are restored
// after), and take a value whose type stays unknown to be of a type the
// older version accepts.
//
// On error the graph may be partly rewritten; the opset import is only
// moved on success, and callers discard the module.
//
// The model's opset import and, when the new opset demands it, its IR
// version are updated on a copy of the model proto, so the loaded model
// stays untouched. An op whose semantics changed without an adapter here,
// or that the table does not know, is an error naming the node.
func ConvertOpset(gm *GraphModule, target int64) error {
	root := gm.Root()
	if root.Model == nil {
		return fmt.Errorf("convert opset: %q is not a model", gm.Name)
	}
	cur := root.Opset("")
	if cur == 0 {
		return fmt.Errorf("convert opset: the model imports no default-domain opset")
	}
	if target < minConvertOpset || target > maxConvertOpset {
		return fmt.Errorf("convert opset: target %d is outside the supported %d..%d", target, minConvertOpset, maxConvertOpset)
	}
	if cur < minConvertOpset {
		return fmt.Errorf("convert opset: the model's opset %d is older than %d, the oldest supported", cur, minConvertOpset)
	}
	if cur > maxConvertOpset && target < cur {
		return fmt.Errorf("convert opset: the model's opset %d is newer than %d, the newest known", cur, maxConvertOpset)
	}
	c := &converter{}
	var err error
	if target < cur {
		// Down adapters check types and ranks: infer them for the
		// duration, and put back what the model declared afterwards so
		// the converted model declares no more than the original did.
		restore := inferFacts(root)
		err = root.Walk(func(m *GraphModule) error { return c.downgrade(m, cur, target) })
		restore()
	} else if target > cur {
		err = root.Walk(func(m *GraphModule) error { return c.upgrade(m, cur, target) })
	}
	if err != nil {
		return err
	}
	_ = root.Walk(func(m *GraphModule) error {
		for _, n := range m.Graph.Nodes {
			if (n.Op == CallFunction || n.Op == CallModule) && isDefaultDomain(n.Target.Domain) {
				n.Target.Version = target
			}
		}
		return nil
	})
	setModelOpset(root, target)
	return nil
}

func isDefaultDomain(d string) bool { return d == "" || d == "ai.onnx" }

// setModelOpset replaces the model proto with a shallow copy carrying the
// new default-domain import and a sufficient IR version.
func setModelOpset(root *GraphModule, target int64) {
	m := shallowModel(root.Model)
	m.Graph = root.Model.Graph
	imports := make([]*onnxpb.OperatorSetIdProto, 0, len(root.Model.OpsetImport))
	for _, o := range root.Model.OpsetImport {
		if isDefaultDomain(o.GetDomain()) {
			o = &onnxpb.OperatorSetIdProto{Domain: o.Domain, Version: proto.Int64(target)}
		}
		imports = append(imports, o)
	}
	m.OpsetImport = imports
	if ir := irForOpset(target); m.GetIrVersion() < ir {
		m.IrVersion = proto.Int64(ir)
	}
	root.Model = m
}

// converter applies adapters; it holds nothing between nodes but is the
// receiver the adapter table refers to.
type converter struct{}

func nodeLabel(m *GraphModule, n *Node) string {
	name := n.Meta.SourceName
	if name == "" {
		name = n.Name
	}
	if m.Name != "" {
		return fmt.Sprintf("%s: node %q (%s)", m.Name, name, n.Target.OpType)
	}
	return fmt.Sprintf("node %q (%s)", name, n.Target.OpType)
}

func (c *converter) upgrade(m *GraphModule, cur, target int64) error {
	for _, n := range slices.Clone(m.Graph.Nodes) {
		if err := m.Interrupted(); err != nil {
			return err
		}
		if (n.Op != CallFunction && n.Op != CallModule) || !isDefaultDomain(n.Target.Domain) {
			continue
		}
		for v := cur + 1; v <= target; v++ {
			hist, ok := opHistory[n.Target.OpType]
			if !ok {
				return fmt.Errorf("convert opset %d to %d: %s: no version history known for this operator", cur, target, nodeLabel(m, n))
			}
			for _, s := range hist {
				if s.version != v || s.adapt == nil {
					continue
				}
				if err := s.adapt(c, n, v); err != nil {
					return fmt.Errorf("convert opset %d to %d: %s: step to %d: %w", cur, target, nodeLabel(m, n), v, err)
				}
			}
		}
	}
	return nil
}
