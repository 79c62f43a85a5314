package qpass

import "github.com/onnxquant/onnxquant/lower"

// ControlValues are the values of g computed only to decide control flow
// (If conditions, Loop trip counts and conditions), everything computed
// only for them, and the graph inputs read only by them. They are never
// quantized on any target: a quantized condition or trip count can
// saturate or round across a threshold, and the quantized model would then
// take another path than the float model (a Loop running a different
// number of times). They stay exact, integer or float, evaluated where the
// control flow is decided (the host on U55/U65).
func ControlValues(g *lower.Graph) map[*lower.Value]bool {
	control := map[*lower.Value]bool{}
	controlNode := map[*lower.Node]bool{}
	controlEdge := func(u *lower.Node, v *lower.Value) bool {
		if controlNode[u] {
			return true
		}
		if u.Op != lower.CallModule {
			return false
		}
		limit := 1
		if u.Target.OpType == "Loop" {
			limit = 2
		}
		for j := 0; j < limit && j < len(u.Inputs); j++ {
			if u.Inputs[j] == v {
				return true
			}
		}
		return false
	}
	onlyControl := func(n *lower.Node) bool {
		isCtl := false
		for _, out := range n.Outputs {
			if out == nil {
				continue
			}
			users := g.Users(out)
			if len(users) == 0 {
				return false
			}
			for _, u := range users {
				if !controlEdge(u, out) {
					return false
				}
			}
			isCtl = true
		}
		return isCtl
	}
	for i := len(g.Nodes) - 1; i >= 0; i-- {
		n := g.Nodes[i]
		if !(n.Op == lower.CallFunction || n.Op == lower.Placeholder && !n.Capture) || !onlyControl(n) {
			continue
		}
		controlNode[n] = true
		for _, out := range n.Outputs {
			if out != nil {
				control[out] = true
			}
		}
	}
	return control
}

// IsControlNode reports whether every output of n is a control value.
func IsControlNode(n *lower.Node, control map[*lower.Value]bool) bool {
	if len(n.Outputs) == 0 {
		return false
	}
	for _, o := range n.Outputs {
		if o != nil && !control[o] {
			return false
		}
	}
	return true
}
