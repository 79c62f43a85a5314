package lower

import (
	"fmt"

	"github.com/onnxquant/onnxquant/onnxio"
)

// LoadFile reads an ONNX model file with its external data and lowers it.
// Errors name the file.
func LoadFile(path string) (*GraphModule, error) {
	m, err := onnxio.Load(path)
	if err != nil {
		return nil, err
	}
	if err := m.LoadExternalData(); err != nil {
		return nil, err
	}
	gm, err := Lower(m.Proto, m.Dir)
	if err != nil {
		return nil, fmt.Errorf("model %q: %w", path, err)
	}
	return gm, nil
}
