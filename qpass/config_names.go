package qpass

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/onnxquant/onnxquant/internal/nearest"
	"github.com/onnxquant/onnxquant/lower"
)

// ErrConfigName marks a config entry whose name matches nothing in the
// model: a typo there would otherwise leave the entry silently unused.
var ErrConfigName = errors.New("config entry matches nothing in the model")

// CheckNames fails when a node_name, module_name or module_type entry
// matches no node, module or type of gm (and its submodules), listing the
// nearest names the model has. Run it on the model as loaded, whose names
// are the ones users see (inspect, Netron).
func (cs *ConfigSet) CheckNames(gm *lower.GraphModule) error {
	nodes, modules, types := map[string]bool{}, map[string]bool{}, map[string]bool{}
	_ = gm.Walk(func(m *lower.GraphModule) error {
		for _, n := range m.Graph.Nodes {
			if n.Op != lower.CallFunction && n.Op != lower.CallModule {
				continue
			}
			nodes[nodeName(n)] = true
			types[n.Target.OpType] = true
			for _, mod := range n.Meta.ModuleStack {
				modules[mod] = true
			}
			for _, t := range n.Meta.ModuleTypes {
				if t != "" {
					types[t] = true
					types[t[strings.LastIndex(t, ".")+1:]] = true
				}
			}
		}
		return nil
	})
	var problems []string
	nodeList := slices.Sorted(maps.Keys(nodes))
	for _, key := range slices.Sorted(maps.Keys(cs.NodeName)) {
		matched := nodes[key]
		if isGlob(key) {
			for _, n := range nodeList {
				matched = matched || globMatch(key, n)
			}
		}
		if !matched {
			problems = append(problems, unmatched("node_name", key, "node", nodeList))
		}
	}
	for _, key := range slices.Sorted(maps.Keys(cs.ModuleName)) {
		if !modules[key] {
			problems = append(problems, unmatched("module_name", key, "module", slices.Sorted(maps.Keys(modules))))
		}
	}
	for _, key := range slices.Sorted(maps.Keys(cs.ModuleType)) {
		if !types[key] {
			problems = append(problems, unmatched("module_type", key, "module type or op type", slices.Sorted(maps.Keys(types))))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrConfigName, strings.Join(problems, "; "))
}

func unmatched(role, key, what string, names []string) string {
	msg := fmt.Sprintf("%s %q matches no %s of the model", role, key, what)
	if near := nearest.Names(key, names); len(near) > 0 {
		quoted := make([]string, len(near))
		for i, n := range near {
			quoted[i] = fmt.Sprintf("%q", n)
		}
		return msg + " (did you mean " + strings.Join(quoted, " or ") + "?)"
	}
	if len(names) == 0 {
		return msg + " (it has none)"
	}
	if len(names) > 12 {
		return msg + fmt.Sprintf(" (it has %d, such as %s; see onnxquant inspect)", len(names), strings.Join(names[:6], ", "))
	}
	return msg + " (it has: " + strings.Join(names, ", ") + ")"
}
