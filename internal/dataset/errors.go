package dataset

import (
	"errors"
	"fmt"
)

// Kinds of sample errors; test them with errors.Is on the error Load returns.
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

// SampleError is the error for one sample: which one, which input (empty when
// the error is about the whole sample), and what is wrong.
type SampleError struct {
	Sample string // path of the sample's file or folder
	Input  string // model input name, or "" for the sample as a whole
	Err    error
}

func (e *SampleError) Error() string {
	if e.Input == "" {
		return fmt.Sprintf("sample %q: %v", e.Sample, e.Err)
	}
	return fmt.Sprintf("sample %q: input %q: %v", e.Sample, e.Input, e.Err)
}

func (e *SampleError) Unwrap() error { return e.Err }

// kindError attaches one of the Err* kinds to a detailed message, so the
// message reads naturally while errors.Is still finds the kind.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

func kindf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...)}
}
