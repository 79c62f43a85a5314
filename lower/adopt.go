package lower

// Adopt makes the producer of repl produce old in repl's place, so a
// rewrite can replace the node that made old while old keeps its name,
// declared type and every reader (graph outputs, body captures). Readers of
// repl read old afterwards, and old's former producer no longer lists it
// among its outputs, so removing that node leaves old alone. Both values
// must belong to g; qpass uses it to swap in decompositions.
func (g *Graph) Adopt(old, repl *Value) {
	if old == repl || repl.Producer == nil {
		return
	}
	g.ReplaceAllUses(repl, old)
	if prev := old.Producer; prev != nil && old.Index < len(prev.Outputs) && prev.Outputs[old.Index] == old {
		prev.Outputs[old.Index] = nil
	}
	p := repl.Producer
	p.Outputs[repl.Index] = old
	old.Producer, old.Index = p, repl.Index
	if g.values[repl.Name] == repl {
		delete(g.values, repl.Name)
	}
	g.values[old.Name] = old
}
