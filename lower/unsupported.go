package lower

import (
	"errors"
	"fmt"
	"strings"
)

// UnsupportedOp is one node the float interpreter (which calibration runs
// the model in) has no kernel for.
type UnsupportedOp struct {
	Node   string // the node's name
	Op     string // its target, e.g. "NonMaxSuppression-11"
	Module string // the submodule it lives in, "" at the top level
	Reason string // why it is unsupported, when more is known than the op type
}

// UnsupportedOpError lists every node of a model that the float
// interpreter cannot execute, so one error tells the user everything that
// is missing. Calibration, quantization and evaluation return it (wrapped)
// before running any sample; test for it with errors.As.
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

// ErrUnsupportedOp is wrapped by the interpreter's errors about op forms
// it does not implement, and errors.Is finds it in an *UnsupportedOpError.
var ErrUnsupportedOp = errors.New("unsupported")

// Is makes errors.Is(err, ErrUnsupportedOp) hold for the collected report too.
func (e *UnsupportedOpError) Is(target error) bool { return target == ErrUnsupportedOp }
