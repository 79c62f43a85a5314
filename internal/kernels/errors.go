package kernels

import (
	"errors"
	"fmt"
)

// ShapeError reports operands whose shapes (or shape-like parameters) do not fit an op.
// Callers wrap it with the node name; errors.As lets them tell it from other failures.
type ShapeError struct {
	Op  string
	Msg string
}

func (e *ShapeError) Error() string { return e.Op + ": " + e.Msg }

func shapeErr(op, format string, args ...any) error {
	return &ShapeError{Op: op, Msg: fmt.Sprintf(format, args...)}
}

// ErrDtype is wrapped by errors about element types a kernel does not support.
var ErrDtype = errors.New("unsupported element type")

func dtypeErr(op string, v any) error {
	return fmt.Errorf("%s: %w %T", op, ErrDtype, v)
}
