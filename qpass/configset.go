package qpass

import (
	"strings"

	"github.com/onnxquant/onnxquant/lower"
)

// ConfigSet holds the configs a quantizer was given and picks one per node
// with ExecuTorch's precedence: the IO config for graph inputs and
// outputs, then module name (the most specific name wins), then module
// type, then global.
type ConfigSet struct {
	Global *Config
	IO     *Config
	// ModuleName maps a qualified module name ("layer1.0", "slow") to a
	// config; a nil entry claims the module's nodes as not quantized.
	ModuleName map[string]*Config
	// ModuleType maps a module class name (from exporter metadata) or an
	// ONNX op type to a config.
	ModuleType map[string]*Config
	// Adjust, when set, may replace the config chosen for a node: targets
	// use it where the hardware supports fewer types than the config asks
	// (int16 TABLE ops on Ethos-U55 run at int8).
	Adjust func(n *lower.Node, cfg *Config) *Config
}

// ForNode returns the config that governs n, and whether any entry claimed
// it (a claimed node with a nil config is deliberately left float).
func (cs *ConfigSet) ForNode(n *lower.Node) (*Config, bool) {
	cfg, claimed := cs.pick(n)
	if cs.Adjust != nil && cfg != nil {
		cfg = cs.Adjust(n, cfg)
	}
	return cfg, claimed
}

func (cs *ConfigSet) pick(n *lower.Node) (*Config, bool) {
	stack := n.Meta.ModuleStack
	for i := len(stack) - 1; i >= 0; i-- {
		if cfg, ok := cs.ModuleName[stack[i]]; ok {
			return cfg, true
		}
	}
	for i := len(stack) - 1; i >= 0; i-- {
		if i < len(n.Meta.ModuleTypes) {
			t := n.Meta.ModuleTypes[i]
			if cfg, ok := cs.typeConfig(t); ok {
				return cfg, true
			}
		}
	}
	if cfg, ok := cs.ModuleType[n.Target.OpType]; ok {
		return cfg, true
	}
	return cs.Global, cs.Global != nil
}

// typeConfig matches a class name exactly or by its last dotted part, so
// "Conv2d" selects "torch.nn.modules.conv.Conv2d".
func (cs *ConfigSet) typeConfig(class string) (*Config, bool) {
	if class == "" {
		return nil, false
	}
	if cfg, ok := cs.ModuleType[class]; ok {
		return cfg, true
	}
	short := class[strings.LastIndex(class, ".")+1:]
	cfg, ok := cs.ModuleType[short]
	return cfg, ok
}

// ForInput returns the config of a top-level graph input.
func (cs *ConfigSet) ForInput() *Config {
	if cs.IO != nil {
		return cs.IO
	}
	return cs.Global
}
