package interp

import (
	"errors"
	"fmt"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/lower"
)

// kernel runs one node: in holds its inputs in order (nil for omitted
// optional inputs); it returns one tensor per output (nil for outputs the
// node does not produce). fr is the frame of the graph being executed,
// which bodies read their captures from.
type kernel func(rc *runCtx, fr *frame, in []*tensor.Dense) ([]*tensor.Dense, error)

// step is one node of a plan with its slots resolved.
type step struct {
	node *lower.Node
	in   []int // slot per input, -1 when omitted
	out  []int // slot per output, -1 when omitted
	run  kernel
	free []int // slots whose last use is this step
}

// inputSlot is a graph input (a placeholder that is not a capture).
type inputSlot struct {
	slot  int
	value *lower.Value
	// def is the initializer an input may fall back to (AlsoInput).
	def *tensor.Dense
}

// capture copies a value of the enclosing frame into a body frame.
type capture struct {
	slot, outer int
}

// plan is the executable form of one graph.
type plan struct {
	module   string
	gm       *lower.GraphModule
	nslots   int
	values   []*lower.Value // by slot
	consts   []constSlot
	inputs   []inputSlot
	captures []capture
	steps    []step
	outputs  []int
	slotOf   map[*lower.Value]int
	parent   *plan
	// constValues are the values known at New (initializers, Constant
	// outputs), for builders that decode shape-like inputs once.
	constValues map[*lower.Value]*tensor.Dense
}

type constSlot struct {
	slot int
	t    *tensor.Dense
}

// ErrUnsupported is lower.ErrUnsupportedOp: it is wrapped by errors about
// op forms the interpreter does not implement, builder errors at New
// (collected into an *UnsupportedOpError) and the few forms only
// detectable at Run (for example Dropout switched to training mode by a
// graph input).
var ErrUnsupported = lower.ErrUnsupportedOp

func unsupportedf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnsupported, fmt.Sprintf(format, args...))
}

type planBuilder struct {
	dir         string
	ops         map[string]opBuilder
	unsupported *UnsupportedOpError
}

// build makes the plan of gm's graph; parent is the plan of the graph that
// owns it (nil at the top level).
func (b *planBuilder) build(gm *lower.GraphModule, parent *plan) (*plan, error) {
	p := &plan{module: gm.Name, gm: gm, slotOf: map[*lower.Value]int{}, parent: parent, constValues: map[*lower.Value]*tensor.Dense{}}
	slot := func(v *lower.Value) int {
		if v == nil {
			return -1
		}
		if s, ok := p.slotOf[v]; ok {
			return s
		}
		s := p.nslots
		p.nslots++
		p.slotOf[v] = s
		p.values = append(p.values, v)
		return s
	}
	g := gm.Graph
	lastUse := map[int]int{}
	for _, n := range g.Nodes {
		switch n.Op {
		case lower.Placeholder:
			s := slot(n.Outputs[0])
			if n.Capture {
				if parent == nil {
					return nil, fmt.Errorf("capture %q in the main graph", n.Outputs[0].Name)
				}
				ov := g.Outer.Value(n.Outputs[0].Name)
				os, ok := parent.slotOf[ov]
				if ov == nil || !ok {
					return nil, fmt.Errorf("%s: captured value %q is not visible in %s", moduleLabel(gm.Name), n.Outputs[0].Name, moduleLabel(parent.module))
				}
				p.captures = append(p.captures, capture{slot: s, outer: os})
			} else {
				p.inputs = append(p.inputs, inputSlot{slot: s, value: n.Outputs[0]})
			}
		case lower.GetAttr:
			t, err := toDense(n.Initializer, b.dir)
			if err != nil {
				return nil, fmt.Errorf("%s: initializer %q: %w", moduleLabel(gm.Name), n.Outputs[0].Name, err)
			}
			s := slot(n.Outputs[0])
			if n.AlsoInput {
				p.inputs = append(p.inputs, inputSlot{slot: s, value: n.Outputs[0], def: t})
			} else {
				p.consts = append(p.consts, constSlot{slot: s, t: t})
				p.constValues[n.Outputs[0]] = t
			}
		case lower.CallFunction, lower.CallModule:
			st := step{node: n}
			for _, v := range n.Inputs {
				st.in = append(st.in, slot(v))
			}
			idx := len(p.steps)
			for _, s := range st.in {
				if s >= 0 {
					lastUse[s] = idx
				}
			}
			for _, v := range n.Captures {
				if s, ok := p.slotOf[v]; ok {
					lastUse[s] = idx
				}
			}
			for _, v := range n.Outputs {
				s := slot(v)
				st.out = append(st.out, s)
				if s >= 0 {
					lastUse[s] = idx // dead outputs are freed right away
				}
			}
			k, err := b.kernelFor(n, p)
			switch {
			case errors.Is(err, ErrUnsupported):
				b.unsupported.Nodes = append(b.unsupported.Nodes, UnsupportedOp{
					Node: nodeName(n), Op: n.Target.String(), Module: gm.Name, Reason: reason(err)})
			case err != nil:
				return nil, nodeErr(n, gm.Name, err)
			}
			st.run = k
			p.steps = append(p.steps, st)
		case lower.Output:
			for _, v := range n.Inputs {
				p.outputs = append(p.outputs, slot(v))
			}
		}
	}
	keep := map[int]bool{}
	for _, s := range p.outputs {
		keep[s] = true
	}
	for _, c := range p.consts {
		keep[c.slot] = true
	}
	for s, i := range lastUse {
		if !keep[s] {
			p.steps[i].free = append(p.steps[i].free, s)
		}
	}
	return p, nil
}

// reason strips the ErrUnsupported prefix for the report.
func reason(err error) string {
	s := err.Error()
	pre := ErrUnsupported.Error() + ": "
	if len(s) >= len(pre) && s[:len(pre)] == pre {
		s = s[len(pre):]
	}
	return s
}

// kernelFor decodes n's attributes into a kernel, or reports it unsupported.
func (b *planBuilder) kernelFor(n *lower.Node, p *plan) (kernel, error) {
	d := n.Target.Domain
	if d != "" && d != "ai.onnx" {
		return nil, unsupportedf("domain %q has no kernels", d)
	}
	mk, ok := b.ops[n.Target.OpType]
	if !ok {
		return nil, unsupportedf("no kernel for %s", n.Target.OpType)
	}
	return mk(&buildCtx{b: b, n: n, p: p})
}

// buildCtx is what an op builder sees.
type buildCtx struct {
	b *planBuilder
	n *lower.Node
	p *plan
}

// body builds the plan of the node's body attribute.
func (c *buildCtx) body(attr string) (*plan, error) {
	sub := c.n.Body(attr)
	if sub == nil {
		return nil, fmt.Errorf("missing body %q", attr)
	}
	return c.b.build(sub, c.p)
}

// constInput returns input i when it is an initializer or Constant output
// known at New, so builders can decode shape-like operands once.
func (c *buildCtx) constInput(i int) *tensor.Dense {
	if i >= len(c.n.Inputs) || c.n.Inputs[i] == nil {
		return nil
	}
	return c.p.constValues[c.n.Inputs[i]]
}
