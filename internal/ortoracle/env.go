//go:build ort

package ortoracle

import (
	"fmt"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/onnxquant/onnxquant/internal/ortoracle/ortlib"
)

// ONNX Runtime has one environment per process, so it is set up once, on
// first use, and never torn down.
var (
	initOnce sync.Once
	initErr  error
)

func initialize() error {
	initOnce.Do(func() {
		var path string
		path, initErr = ortlib.Path()
		if initErr != nil {
			return
		}
		ort.SetSharedLibraryPath(path)
		if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
			initErr = fmt.Errorf("initializing ONNX Runtime from %s: %w", path, err)
		}
	})
	return initErr
}

// Version returns the loaded ONNX Runtime version.
func Version() (string, error) {
	if err := initialize(); err != nil {
		return "", err
	}
	return ort.GetVersion(), nil
}

// Enabled reports that this build runs models in ONNX Runtime.
const Enabled = true
