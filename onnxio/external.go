package onnxio

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// ErrUnsafeLocation reports an external-data location that would reach
// outside the model's folder (absolute, "..", or through a symlink).
var ErrUnsafeLocation = errors.New("external data location escapes the model folder")

// extRef is the parsed external_data of a tensor.
type extRef struct {
	location string
	offset   int64
	length   int64 // -1: to the end of the file
}

// IsExternal reports whether t keeps its data in an external file.
func IsExternal(t *onnxpb.TensorProto) bool {
	return t.GetDataLocation() == onnxpb.TensorProto_EXTERNAL
}

func parseExternal(t *onnxpb.TensorProto) (extRef, error) {
	ref := extRef{length: -1}
	for _, kv := range t.GetExternalData() {
		v := kv.GetValue()
		switch kv.GetKey() {
		case "location":
			ref.location = v
		case "offset", "length":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return ref, fmt.Errorf("external data %s %q is not a non-negative integer", kv.GetKey(), v)
			}
			if kv.GetKey() == "offset" {
				ref.offset = n
			} else {
				ref.length = n
			}
		}
	}
	if ref.location == "" {
		return ref, errors.New("external data has no location")
	}
	if !filepath.IsLocal(filepath.FromSlash(ref.location)) {
		return ref, fmt.Errorf("location %q: %w", ref.location, ErrUnsafeLocation)
	}
	return ref, nil
}

// externalFiles opens external data files below one folder and keeps them
// open for the duration of a bulk operation (LoadExternalData, Save).
type externalFiles struct {
	dir    string
	files  map[string]*os.File
	limits Limits
}

func newExternalFiles(dir string) *externalFiles {
	return &externalFiles{dir: dir, files: map[string]*os.File{}}
}

func (ef *externalFiles) Close() {
	for _, f := range ef.files {
		f.Close()
	}
}

// read returns the bytes an external tensor refers to.
func (ef *externalFiles) read(t *onnxpb.TensorProto) ([]byte, error) {
	ref, err := parseExternal(t)
	if err != nil {
		return nil, err
	}
	if ef.dir == "" {
		return nil, fmt.Errorf("external data %q: no base folder (model read from a stream without dir)", ref.location)
	}
	f, ok := ef.files[ref.location]
	if !ok {
		// The root also refuses symlinks that lead out of the folder; a
		// FIFO or device is refused before a read could block on it.
		f, _, err = OpenRegularInRoot(ef.dir, filepath.FromSlash(ref.location))
		if err != nil {
			return nil, fmt.Errorf("external data: %w", err)
		}
		ef.files[ref.location] = f
	}
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("external data %q: %w", ref.location, err)
	}
	size := st.Size()
	length := ref.length
	if length < 0 {
		length = size - ref.offset
	}
	if ref.offset > size || length < 0 || length > size-ref.offset {
		return nil, fmt.Errorf("external data %q: offset %d length %d outside the file (%d bytes)",
			ref.location, ref.offset, ref.length, size)
	}
	if err := checkDeclaredSize(t, ref, length, ef.limits); err != nil {
		return nil, fmt.Errorf("external data %q: %w", ref.location, err)
	}
	buf := make([]byte, length)
	if _, err := f.ReadAt(buf, ref.offset); err != nil && !(errors.Is(err, io.EOF) && length == 0) {
		return nil, fmt.Errorf("external data %q: %w", ref.location, err)
	}
	return buf, nil
}

// readExternal reads one external tensor's bytes, relative to dir.
func readExternal(t *onnxpb.TensorProto, dir string) ([]byte, error) {
	ef := newExternalFiles(dir)
	defer ef.Close()
	return ef.read(t)
}

// materialize moves external data into raw_data and clears the reference.
func materialize(t *onnxpb.TensorProto, data []byte) {
	t.RawData = data
	t.ExternalData = nil
	t.DataLocation = nil
}

// LoadExternalData reads every externally stored tensor of the model into
// its raw_data, so the model no longer depends on files next to it. Tensors
// are located relative to m.Dir.
func (m *Model) LoadExternalData() error {
	ef := newExternalFiles(m.Dir)
	defer ef.Close()
	var errs []error
	forEachTensor(m.Proto, func(t *onnxpb.TensorProto) {
		if !IsExternal(t) {
			return
		}
		data, err := ef.read(t)
		if err != nil {
			errs = append(errs, fmt.Errorf("tensor %q: %w", t.GetName(), err))
			return
		}
		materialize(t, data)
	})
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("model %q: %w", m.name(), err)
	}
	return nil
}

// ExternalLocations lists the distinct external data files the model's
// tensors refer to (relative to the model's folder), in model order;
// malformed references are left out (reading them reports the error).
func ExternalLocations(m *onnxpb.ModelProto) []string {
	seen := map[string]bool{}
	var out []string
	forEachTensor(m, func(t *onnxpb.TensorProto) {
		if !IsExternal(t) {
			return
		}
		if ref, err := parseExternal(t); err == nil && !seen[ref.location] {
			seen[ref.location] = true
			out = append(out, ref.location)
		}
	})
	return out
}
