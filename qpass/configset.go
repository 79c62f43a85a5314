package qpass

import (
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/onnxquant/onnxquant/lower"
)

// ConfigSet holds the configs a quantizer was given and picks one per node
// with ExecuTorch's precedence: the IO config for graph inputs and
// outputs, then node name (ExecuTorch's set_node_name, for models without
// module paths), then module name (the most specific name wins), then
// module type, then global.
type ConfigSet struct {
	Global *Config
	IO     *Config
	// NodeName maps an ONNX node name, or a glob of them ("/layer1/*",
	// where * also spans slashes), to a config; an exact name wins over
	// globs, and globs are tried in sorted order.
	NodeName map[string]*Config
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
	cfg, rule := cs.Explain(n)
	return cfg, rule != ""
}

// Explain returns the config the entries pick for n (before the target's
// adjustment) and the entry that chose it, as the config file writes it
// ("node_name /conv1/Conv", "module_name layer1", "module_type Conv2d",
// "global"); the rule is "" when no entry claims n.
func (cs *ConfigSet) Explain(n *lower.Node) (*Config, string) {
	if key, ok := cs.nodeNameKey(nodeName(n)); ok {
		return cs.NodeName[key], "node_name " + key
	}
	stack := n.Meta.ModuleStack
	for i := len(stack) - 1; i >= 0; i-- {
		if cfg, ok := cs.ModuleName[stack[i]]; ok {
			return cfg, "module_name " + stack[i]
		}
	}
	for i := len(stack) - 1; i >= 0; i-- {
		if i < len(n.Meta.ModuleTypes) {
			if key, ok := cs.typeKey(n.Meta.ModuleTypes[i]); ok {
				return cs.ModuleType[key], "module_type " + key
			}
		}
	}
	if cfg, ok := cs.ModuleType[n.Target.OpType]; ok {
		return cfg, "module_type " + n.Target.OpType
	}
	if cs.Global != nil {
		return cs.Global, "global"
	}
	return nil, ""
}

// nodeName is the name a config's node_name entry matches: the ONNX node
// name as exported, which nodes made by passes inherit.
func nodeName(n *lower.Node) string {
	if n.Meta.SourceName != "" {
		return n.Meta.SourceName
	}
	return n.Name
}

// nodeNameKey finds the node_name entry that matches name: the exact name,
// else the first glob in sorted order.
func (cs *ConfigSet) nodeNameKey(name string) (string, bool) {
	if len(cs.NodeName) == 0 {
		return "", false
	}
	if _, ok := cs.NodeName[name]; ok {
		return name, true
	}
	for _, key := range slices.Sorted(maps.Keys(cs.NodeName)) {
		if isGlob(key) && globMatch(key, name) {
			return key, true
		}
	}
	return "", false
}

func isGlob(key string) bool { return strings.ContainsAny(key, "*?") }

// globMatch matches name against a pattern whose * stands for any run of
// characters (slashes included: node names are paths) and ? for one.
func globMatch(pattern, name string) bool {
	var re strings.Builder
	re.WriteString("^")
	for _, r := range pattern {
		switch r {
		case '*':
			re.WriteString(".*")
		case '?':
			re.WriteString(".")
		default:
			re.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	re.WriteString("$")
	return regexp.MustCompile(re.String()).MatchString(name)
}

// typeKey matches a class name exactly or by its last dotted part, so
// "Conv2d" selects "torch.nn.modules.conv.Conv2d".
func (cs *ConfigSet) typeKey(class string) (string, bool) {
	if class == "" {
		return "", false
	}
	if _, ok := cs.ModuleType[class]; ok {
		return class, true
	}
	short := class[strings.LastIndex(class, ".")+1:]
	_, ok := cs.ModuleType[short]
	return short, ok
}

// ForInput returns the config of a top-level graph input.
func (cs *ConfigSet) ForInput() *Config {
	if cs.IO != nil {
		return cs.IO
	}
	return cs.Global
}
