// Package ortoracle runs ONNX models with ONNX Runtime (CPU, 1.30), the
// reference the quantizer's float interpreter and QDQ output are checked
// against. It is a test-only dependency and no production package imports
// it.
//
// ONNX Runtime is there only in builds with the "ort" tag (go test -tags
// ort, as scripts/test.sh runs): they need cgo and the shared library that
// scripts/install-ort.sh installs. Without the tag the package still
// compiles, so tests that compare against ONNX Runtime build on a bare Go
// install (CGO_ENABLED=0); there Enabled is false and every session
// constructor returns ErrNotBuilt. Tests ask internal/testenv.ORT whether to
// make the comparison.
package ortoracle

import (
	"fmt"

	"gorgonia.org/tensor"
)

// Options tune a session. The zero value is ONNX Runtime's defaults.
type Options struct {
	// Threads is the number of intra-op threads; 0 leaves ORT's default.
	// Inter-op parallelism is then 1, so a benchmark uses exactly Threads.
	Threads int
	// DisableOptimizations runs the graph as written (ORT_DISABLE_ALL),
	// which is the fair comparison for a calibrator that interprets every
	// node.
	DisableOptimizations bool
}

// Run runs the model file at path once with default options.
func Run(path string, inputs map[string]*tensor.Dense) (map[string]*tensor.Dense, error) {
	return RunWith(Options{}, path, inputs)
}

// RunBytes runs a serialized model once with default options.
func RunBytes(model []byte, inputs map[string]*tensor.Dense) (map[string]*tensor.Dense, error) {
	s, err := NewSessionBytes(model, Options{})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return s.Run(inputs)
}

// RunWith runs the model file at path once with opts.
func RunWith(opts Options, path string, inputs map[string]*tensor.Dense) (map[string]*tensor.Dense, error) {
	s, err := NewSession(path, opts)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	out, err := s.Run(inputs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}
