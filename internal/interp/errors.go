package interp

import (
	"fmt"

	"github.com/onnxquant/onnxquant/lower"
)

// UnsupportedOp and UnsupportedOpError are lower's, so that callers
// outside the module can test for the error with errors.As.
type (
	UnsupportedOp      = lower.UnsupportedOp
	UnsupportedOpError = lower.UnsupportedOpError
)

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
