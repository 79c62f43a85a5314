package interp

import (
	"fmt"
	"strings"
)

// UnsupportedOp is one node the interpreter has no kernel for.
type UnsupportedOp struct {
	Node   string // the node's name
	Op     string // its target, e.g. "NonMaxSuppression-11"
	Module string // the submodule it lives in, "" at the top level
	Reason string // why it is unsupported, when more is known than the op type
}

// UnsupportedOpError lists every node of a model that New cannot execute, so
// one error tells the user everything that is missing.
type UnsupportedOpError struct {
	Nodes []UnsupportedOp
}

func (e *UnsupportedOpError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d unsupported node(s): ", len(e.Nodes))
	for i, n := range e.Nodes {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "node %q (%s)", n.Node, n.Op)
		if n.Module != "" {
			fmt.Fprintf(&b, " in %s", n.Module)
		}
		if n.Reason != "" {
			fmt.Fprintf(&b, ": %s", n.Reason)
		}
	}
	return b.String()
}

// Ops returns the distinct op types of the unsupported nodes.
func (e *UnsupportedOpError) Ops() []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range e.Nodes {
		op := n.Op
		if i := strings.LastIndexByte(op, '-'); i > 0 {
			op = op[:i]
		}
		if !seen[op] {
			seen[op] = true
			out = append(out, op)
		}
	}
	return out
}

// InputError reports a Run input that does not match the model's declaration.
type InputError struct {
	Input string
	Msg   string
}

func (e *InputError) Error() string { return fmt.Sprintf("input %q: %s", e.Input, e.Msg) }

// NodeError is an execution failure of one node; Module is its submodule.
type NodeError struct {
	Node   string
	Op     string
	Module string
	Err    error
}

func (e *NodeError) Error() string {
	s := fmt.Sprintf("node %q (%s)", e.Node, e.Op)
	if e.Module != "" {
		s += " in " + e.Module
	}
	return s + ": " + e.Err.Error()
}

func (e *NodeError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUnsupported) hold for the collected report too.
func (e *UnsupportedOpError) Is(target error) bool { return target == ErrUnsupported }
