package dataset

import (
	"fmt"

	"github.com/onnxquant/onnxquant/calib/sample"
)

// Kinds of sample errors (the public ones of package sample); test them
// with errors.Is on the error Load returns.
var (
	ErrShapeMismatch = sample.ErrShapeMismatch
	ErrDtypeMismatch = sample.ErrDtypeMismatch
	ErrNonFinite     = sample.ErrNonFinite
	ErrMissingInput  = sample.ErrMissingInput
	ErrUnknownInput  = sample.ErrUnknownInput
)

// SampleError is the error for one sample (sample.Error, which callers
// outside the module test for with errors.As).
type SampleError = sample.Error

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
