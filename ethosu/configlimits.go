package ethosu

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// MaxYAMLKeys caps the keys of one YAML mapping in a config or manifest.
// go-yaml checks each key of a mapping against every earlier one while
// decoding, so a file with a few hundred thousand keys takes minutes; real
// configs have one key per configured module, far below the cap.
const MaxYAMLKeys = 10000

// MaxConfigBytes caps the size of a config or manifest file.
const MaxConfigBytes = 64 << 20

// CheckYAML parses b into a node tree (linear time) and refuses a mapping
// with more than MaxYAMLKeys keys or with a key given twice, naming the
// line, before the quadratic decode runs.
func CheckYAML(b []byte) error {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return err
	}
	return checkYAMLNode(&root, 0)
}

func checkYAMLNode(n *yaml.Node, depth int) error {
	if depth > 100 {
		return fmt.Errorf("line %d: nested more than 100 levels deep", n.Line)
	}
	if n.Kind == yaml.MappingNode {
		if keys := len(n.Content) / 2; keys > MaxYAMLKeys {
			return fmt.Errorf("line %d: a mapping with %d keys, more than the %d a config may have", n.Line, keys, MaxYAMLKeys)
		}
		seen := make(map[string]int, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode {
				continue
			}
			if prev, dup := seen[k.Value]; dup {
				return fmt.Errorf("line %d: key %q is already given on line %d", k.Line, k.Value, prev)
			}
			seen[k.Value] = k.Line
		}
	}
	for _, c := range n.Content {
		if err := checkYAMLNode(c, depth+1); err != nil {
			return err
		}
	}
	return nil
}
