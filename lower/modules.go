package lower

import (
	"strings"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// Metadata keys newer torch exporters write on nodes: the module scope names
// and the class of each scope, outermost first, as Python list literals.
const (
	metaNameScopes     = "pkg.torch.onnx.name_scopes"
	metaClassHierarchy = "pkg.torch.onnx.class_hierarchy"
)

// moduleMeta recovers the module stack of a node, preferring the
// exporter's metadata over the scope path torch writes into node names.
func moduleMeta(np *onnxpb.NodeProto) Meta {
	m := Meta{SourceName: np.GetName()}
	var scopes, classes []string
	for _, p := range np.MetadataProps {
		switch p.GetKey() {
		case metaNameScopes:
			scopes = parsePyList(p.GetValue())
		case metaClassHierarchy:
			classes = parsePyList(p.GetValue())
		}
	}
	if scopes != nil {
		m.ModuleStack, m.ModuleTypes = qualify(scopes, classes)
		return m
	}
	m.ModuleStack = ModuleStackFromName(np.GetName())
	return m
}

// ModuleStackFromName reads the module path torch.onnx encodes in node
// names: "/layer1/layer1.0/conv1/Conv" is inside layer1, layer1.0 and
// layer1.0.conv1. Names without a leading slash carry no module path.
func ModuleStackFromName(name string) []string {
	if !strings.HasPrefix(name, "/") {
		return nil
	}
	parts := strings.Split(strings.TrimPrefix(name, "/"), "/")
	if len(parts) < 2 {
		return nil
	}
	stack, _ := qualify(parts[:len(parts)-1], nil)
	return stack
}

// qualify turns scope names into qualified module names. Exporters write a
// scope either relative to its parent ("conv1") or already qualified
// ("layer1.0" under "layer1"); both become "layer1.0.conv1"-style paths.
func qualify(scopes, classes []string) (stack, types []string) {
	cur := ""
	for i, s := range scopes {
		if s == "" {
			continue
		}
		switch {
		case cur == "":
			cur = s
		case strings.HasPrefix(s, cur+"."):
			cur = s
		default:
			cur = cur + "." + s
		}
		stack = append(stack, cur)
		class := ""
		if i < len(classes) {
			class = classes[i]
		}
		types = append(types, class)
	}
	if classes == nil {
		types = nil
	}
	return stack, types
}

// parsePyList reads a Python list of string literals such as
// "[”, 'layer1', \"conv\"]". It is lenient: anything unparsable yields
// the pieces it could read.
func parsePyList(s string) []string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "[")
	s = strings.TrimSuffix(s, "]")
	if strings.TrimSpace(s) == "" {
		return []string{}
	}
	var out []string
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		item = strings.Trim(item, `'"`)
		out = append(out, item)
	}
	return out
}
