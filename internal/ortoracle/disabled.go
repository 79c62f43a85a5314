//go:build !ort

package ortoracle

import (
	"errors"

	"gorgonia.org/tensor"
)

// Enabled reports that this build runs models in ONNX Runtime: it was built
// without the "ort" tag, so it does not.
const Enabled = false

// ErrNotBuilt is what every session constructor returns in a build without
// the "ort" tag.
var ErrNotBuilt = errors.New("ONNX Runtime oracle not built in (go test -tags ort, as scripts/test.sh runs, with cgo)")

// Version always fails without the "ort" tag.
func Version() (string, error) { return "", ErrNotBuilt }

// Session cannot be opened without the "ort" tag; its methods exist so that
// callers compile in every build.
type Session struct{}

// NewSession always fails without the "ort" tag.
func NewSession(path string, opts Options) (*Session, error) { return nil, ErrNotBuilt }

// NewSessionBytes always fails without the "ort" tag.
func NewSessionBytes(model []byte, opts Options) (*Session, error) { return nil, ErrNotBuilt }

// InputNames returns nothing: no session exists without the "ort" tag.
func (s *Session) InputNames() []string { return nil }

// OutputNames returns nothing: no session exists without the "ort" tag.
func (s *Session) OutputNames() []string { return nil }

// Run always fails without the "ort" tag.
func (s *Session) Run(map[string]*tensor.Dense) (map[string]*tensor.Dense, error) {
	return nil, ErrNotBuilt
}

// Close does nothing without the "ort" tag.
func (s *Session) Close() error { return nil }
