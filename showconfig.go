package onnxquant

import (
	"fmt"

	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio"
)

// NodeConfig is the config one node of a model gets, and why.
type NodeConfig struct {
	Node, Op string
	// Submodule is the conditional submodule the node is in ("" at the
	// top level); Module its innermost module path ("" without one).
	Submodule, Module string
	// Config is the scheme's name, "none" for a node left float.
	Config string
	// Rule is the config entry that chose it ("node_name /conv1/Conv",
	// "module_name features", "module_type Conv", "global"), with
	// "adjusted by the target" when the target changed it.
	Rule string
}

// ShowConfig lists the effective config of every node of the model file
// in, as quantize would pick it with opts (on the nodes as loaded, before
// the transforms that decompose some of them; those inherit their
// node's config).
func ShowConfig(in string, opts Options) ([]NodeConfig, error) {
	q, _, _, err := newQuantizer(opts)
	if err != nil {
		return nil, err
	}
	m, err := onnxio.Load(in)
	if err != nil {
		return nil, err
	}
	gm, err := lower.Lower(m.Proto, m.Dir)
	if err != nil {
		return nil, fmt.Errorf("model %q: %w", in, err)
	}
	cs := q.Configs()
	if err := cs.CheckNames(gm); err != nil {
		return nil, invalidf("model %q: %w", in, err)
	}
	target := ethosu.NewTarget(q.CompileSpec())
	var out []NodeConfig
	_ = gm.Walk(func(sm *lower.GraphModule) error {
		for _, n := range sm.Graph.Nodes {
			if n.Op != lower.CallFunction && n.Op != lower.CallModule {
				continue
			}
			cfg, rule := cs.Explain(n)
			if cfg != nil {
				if adj := target.AdjustConfig(n, cfg); adj != cfg {
					cfg, rule = adj, rule+", adjusted by the target"
				}
			}
			nc := NodeConfig{Node: n.Meta.SourceName, Op: n.Target.OpType, Submodule: sm.Name, Config: "none", Rule: rule}
			if nc.Node == "" {
				nc.Node = n.Name
			}
			if s := n.Meta.ModuleStack; len(s) > 0 {
				nc.Module = s[len(s)-1]
			}
			if cfg != nil {
				nc.Config = cfg.Name
			}
			if rule == "" {
				nc.Rule = "no entry (left float)"
			}
			out = append(out, nc)
		}
		return nil
	})
	return out, nil
}
