// Package ortlib finds the ONNX Runtime shared library that the test oracle
// loads. It is apart from ortoracle so that test helpers can ask whether the
// oracle is available without pulling cgo into every test binary.
package ortlib

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// EnvVar overrides where the library is looked for.
const EnvVar = "ONNXQUANT_ORT_LIB"

// RelPath is where scripts/install-ort.sh puts the library, relative to the
// module root.
const RelPath = ".ort/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1"

// ErrNotFound means neither $ONNXQUANT_ORT_LIB nor the module's .ort folder
// holds the library.
var ErrNotFound = errors.New("ONNX Runtime library not found (run scripts/install-ort.sh or set " + EnvVar + ")")

// Path returns the path of libonnxruntime: $ONNXQUANT_ORT_LIB when set,
// else <module root>/.ort/..., where the module root is the nearest folder
// holding go.mod above the working directory.
func Path() (string, error) {
	if p := os.Getenv(EnvVar); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvVar, p, err)
		}
		return p, nil
	}
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	p := filepath.Join(root, RelPath)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%w: looked for %s", ErrNotFound, p)
	}
	return p, nil
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%w: no go.mod above the working directory", ErrNotFound)
		}
		dir = parent
	}
}
