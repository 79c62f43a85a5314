package lower

import "slices"

// RenameValue gives v a new name in its graph, and renames the capture
// placeholders of bodies that read it so they keep reading it.
func (g *Graph) RenameValue(v *Value, name string) {
	old := v.Name
	if old == name {
		return
	}
	delete(g.values, old)
	v.Name = name
	g.values[name] = v
	if v.Producer != nil && (v.Producer.Op == Placeholder || v.Producer.Op == GetAttr) {
		v.Producer.Meta.SourceName = name
	}
	for _, n := range g.Users(v) {
		if !slices.Contains(n.Captures, v) {
			continue
		}
		for _, b := range n.Bodies {
			body := g.Module.Submodules[b.Module].Graph
			if inner := body.values[old]; inner != nil && inner.Producer.Capture {
				body.renameCapture(inner, v)
			}
		}
	}
}
