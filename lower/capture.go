package lower

// Source follows body captures to the value of the enclosing graph they
// stand for (through every level of nesting); any other value is returned
// as it is. Passes that ask "is this a constant" or "what produced this"
// must look through captures, because a body reads outer initializers and
// dequantized tensors only through them.
func (v *Value) Source() *Value {
	for v != nil && v.Producer != nil && v.Producer.Op == Placeholder && v.Producer.Capture {
		g := v.Producer.graph
		if g == nil || g.Outer == nil {
			break
		}
		ov := g.Outer.Value(v.Name)
		if ov == nil || ov == v {
			break
		}
		v = ov
	}
	return v
}
