package onnxio

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// Model is a loaded ONNX model together with where it came from, which is
// what external-data references are resolved against.
type Model struct {
	Proto *onnxpb.ModelProto
	// Path is the file the model was loaded from, "" if it came from a
	// reader. Save refuses to overwrite it.
	Path string
	// Dir is the folder external-data locations are relative to.
	Dir string

	label string // names the model in errors when Path is ""
}

// ErrNotONNX is wrapped by the errors of Load and Read when the bytes do not
// decode as an ONNX ModelProto.
var ErrNotONNX = errors.New("not an ONNX model")

// name labels the model in error messages.
func (m *Model) name() string {
	switch {
	case m.Path != "":
		return m.Path
	case m.label != "":
		return m.label
	}
	return "<in-memory model>"
}

// Load reads the ONNX model at path. External data stays on disk until a
// tensor accessor or LoadExternalData needs it.
func Load(path string) (*Model, error) {
	// ReadFile sizes its buffer from the file once. io.ReadAll would grow
	// one by doubling, touching about twice the model's size in fresh
	// memory: for a 45 MB ResNet-18 that cost most of a second of page
	// faults on the machine BENCHMARKS.md was measured on.
	// Protobuf refuses messages over 2 GB, so a bigger file is refused
	// before it is read; FIFOs and devices are refused before they block
	// or stream forever.
	data, err := ReadRegular(path, protoLimit)
	if err != nil {
		return nil, fmt.Errorf("model %q: %w", path, err)
	}
	m, err := decode(data, path, filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	m.Path = path
	return m, nil
}

// Read decodes a model from r. name labels the model in errors; dir is the
// folder external data is relative to ("" if the model has none).
func Read(r io.Reader, name, dir string) (*Model, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("model %q: %w", name, err)
	}
	return decode(data, name, dir)
}

// decode parses the bytes of a model; name and dir are as for Read.
func decode(data []byte, name, dir string) (*Model, error) {
	pb := &onnxpb.ModelProto{}
	if err := proto.Unmarshal(data, pb); err != nil {
		return nil, fmt.Errorf("model %q: %w: %v", name, ErrNotONNX, err)
	}
	// Protobuf accepts many byte strings (an empty file is a valid empty
	// message), so a model without a graph is treated as not ONNX.
	if pb.Graph == nil {
		return nil, fmt.Errorf("model %q: %w: no graph in %d bytes", name, ErrNotONNX, len(data))
	}
	return &Model{Proto: pb, Dir: dir, label: name}, nil
}

// LoadValidated loads the model at path and runs Validate on it.
func LoadValidated(path string) (*Model, error) {
	m, err := Load(path)
	if err != nil {
		return nil, err
	}
	if err := Validate(m); err != nil {
		return nil, err
	}
	return m, nil
}

// Marshal returns the model's deterministic protobuf encoding. External
// data references are written as they are.
func (m *Model) Marshal() ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m.Proto)
	if err != nil {
		return nil, fmt.Errorf("model %q: marshal: %w", m.name(), err)
	}
	return b, nil
}

// Write writes the model's deterministic encoding to w. It does not touch
// external data: references are written as they are, so the caller is
// responsible for the files they name (Save handles them).
func (m *Model) Write(w io.Writer) error {
	b, err := m.Marshal()
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, bytes.NewReader(b)); err != nil {
		return fmt.Errorf("model %q: write: %w", m.name(), err)
	}
	return nil
}
