package sample

import (
	"errors"
	"fmt"
)

// Kinds of sample errors; test them with errors.Is.
var (
	// ErrShapeMismatch: a sample's array has a different rank or dimension
	// than the model's input, or two inputs disagree on a named dimension.
	ErrShapeMismatch = errors.New("shape mismatch")
	// ErrDtypeMismatch: a sample's array has a different element type.
	ErrDtypeMismatch = errors.New("dtype mismatch")
	// ErrNonFinite: a sample holds NaN or ±Inf, which would poison the
	// observers' ranges.
	ErrNonFinite = errors.New("non-finite value")
	// ErrMissingInput: a sample lacks one of the model's inputs.
	ErrMissingInput = errors.New("missing input")
	// ErrUnknownInput: a sample holds an array that is no input of the model.
	ErrUnknownInput = errors.New("unknown input")
)

// Error is the error for one sample: which one, which input (empty when
// the error is about the whole sample), and what is wrong. Test for it
// with errors.As.
type Error struct {
	Sample string // path of the sample's file or folder, or the source's name for it
	Input  string // model input name, or "" for the sample as a whole
	Err    error
}

func (e *Error) Error() string {
	if e.Input == "" {
		return fmt.Sprintf("sample %q: %v", e.Sample, e.Err)
	}
	return fmt.Sprintf("sample %q: input %q: %v", e.Sample, e.Input, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }
