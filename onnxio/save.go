package onnxio

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

const (
	// protoLimit is the largest message protobuf implementations accept.
	protoLimit = math.MaxInt32
	// autoThreshold is the external-data threshold used when a model has to
	// leave the protobuf because it is too big (the onnx package's default).
	autoThreshold = 1024
	// dataAlign aligns tensors in the data file so runtimes can mmap them.
	dataAlign = 4096
)

// ErrOverwriteInput is returned by Save when asked to write over the file
// the model was loaded from: the input of a conversion is never modified.
var ErrOverwriteInput = errors.New("refusing to overwrite the model's input file")

// SaveOptions control how Save lays out tensor data.
type SaveOptions struct {
	// ExternalDataThreshold, when positive, moves every initializer with at
	// least this many bytes of data into "<model file name>.data" next to
	// the model (offsets aligned to 4096) and inlines smaller ones. Zero
	// keeps the layout the model was loaded with; Save still switches to
	// external data on its own when the model would exceed protobuf's 2 GB
	// limit.
	ExternalDataThreshold int64

	maxProtoSize int64 // tests lower the 2 GB limit; 0 means protoLimit
}

// Save writes the model to path. Files are written to temporaries in the
// destination folder and renamed into place, so a failed Save leaves no
// partial output. External data files the model refers to are copied when
// the destination folder differs from m.Dir (unless a threshold rewrites
// them). The bytes are deterministic: an unmodified model re-saves
// identically.
//
// While it runs, Save temporarily rewrites the data fields of tensors it
// moves (restoring them before it returns), so the model must not be read
// concurrently.
func (m *Model) Save(path string, opts SaveOptions) error {
	if err := m.save(path, opts); err != nil {
		return fmt.Errorf("save model %q to %q: %w", m.name(), path, err)
	}
	return nil
}

func (m *Model) save(path string, opts SaveOptions) error {
	if err := m.checkNotInput(path); err != nil {
		return err
	}
	limit := opts.maxProtoSize
	if limit <= 0 {
		limit = protoLimit
	}
	threshold := opts.ExternalDataThreshold
	if threshold < 0 {
		return fmt.Errorf("negative external data threshold %d", threshold)
	}
	auto := threshold == 0 && int64(proto.Size(m.Proto)) > limit
	if auto {
		threshold = autoThreshold
	}

	var out pendingFiles
	defer out.abort()
	if threshold > 0 {
		restore, err := m.externalize(path, threshold, auto, &out)
		defer restore()
		if err != nil {
			return err
		}
	} else {
		restore, err := m.copyExternal(filepath.Dir(path), &out)
		defer restore()
		if err != nil {
			return err
		}
	}
	if size := int64(proto.Size(m.Proto)); size > limit {
		return fmt.Errorf("serialized model is %d bytes, over protobuf's %d byte limit even with external data", size, limit)
	}
	b, err := m.Marshal()
	if err != nil {
		return err
	}
	f, err := out.create(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		return err
	}
	return out.commit()
}

// checkNotInput refuses a destination that is the model's own file, by
// name or by identity (hard links, symlinks).
func (m *Model) checkNotInput(path string) error {
	if m.Path == "" {
		return nil
	}
	a, errA := filepath.Abs(path)
	b, errB := filepath.Abs(m.Path)
	if errA == nil && errB == nil && a == b {
		return fmt.Errorf("%w %q", ErrOverwriteInput, m.Path)
	}
	sa, errA := os.Stat(path)
	sb, errB := os.Stat(m.Path)
	if errA == nil && errB == nil && os.SameFile(sa, sb) {
		return fmt.Errorf("%w %q", ErrOverwriteInput, m.Path)
	}
	if errA != nil {
		return nil
	}
	// Nor may it be one of the model's external data files.
	var clash string
	forEachTensor(m.Proto, func(t *onnxpb.TensorProto) {
		if clash != "" || !IsExternal(t) {
			return
		}
		ref, err := parseExternal(t)
		if err != nil {
			return
		}
		data := filepath.Join(m.Dir, filepath.FromSlash(ref.location))
		if sd, err := os.Stat(data); err == nil && os.SameFile(sa, sd) {
			clash = data
		}
	})
	if clash != "" {
		return fmt.Errorf("%w's external data file %q", ErrOverwriteInput, clash)
	}
	return nil
}

// sameDir reports whether two folder names refer to the same folder.
func sameDir(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

// copyExternal writes, into dstDir under the same locations, the byte
// ranges of external data the model refers to, so the saved model is
// self-contained in its new folder. Only referenced ranges are copied
// (aligned, in model order; a range several tensors share is written
// once): a data file may hold far more than this model uses. The model's
// references are rewritten to the new offsets; the returned function
// undoes that.
func (m *Model) copyExternal(dstDir string, out *pendingFiles) (func(), error) {
	var saved []tensorFields
	restore := func() {
		for i := len(saved) - 1; i >= 0; i-- {
			saved[i].restore()
		}
	}
	var exts []*onnxpb.TensorProto
	var errs []error
	forEachTensor(m.Proto, func(t *onnxpb.TensorProto) {
		if !IsExternal(t) {
			return
		}
		if _, err := parseExternal(t); err != nil {
			errs = append(errs, fmt.Errorf("tensor %q: %w", t.GetName(), err))
			return
		}
		exts = append(exts, t)
	})
	if err := errors.Join(errs...); err != nil {
		return restore, err
	}
	if len(exts) == 0 || sameDir(m.Dir, dstDir) {
		return restore, nil
	}
	if m.Dir == "" {
		return restore, errors.New("model has external data but no base folder to copy it from")
	}
	ef := newExternalFiles(m.Dir)
	defer ef.Close()
	type dataFile struct {
		f      *os.File
		offset int64
	}
	files := map[string]*dataFile{}
	type span struct {
		loc            string
		offset, length int64
	}
	written := map[span]int64{}
	for _, t := range exts {
		ref, _ := parseExternal(t)
		data, err := ef.read(t)
		if err != nil {
			return restore, fmt.Errorf("tensor %q: %w", t.GetName(), err)
		}
		key := span{ref.location, ref.offset, int64(len(data))}
		at, done := written[key]
		if !done {
			df := files[ref.location]
			if df == nil {
				dst := filepath.Join(dstDir, filepath.FromSlash(ref.location))
				if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
					return restore, err
				}
				f, err := out.create(dst)
				if err != nil {
					return restore, err
				}
				df = &dataFile{f: f}
				files[ref.location] = df
			}
			if pad := (dataAlign - df.offset%dataAlign) % dataAlign; pad > 0 && len(data) > 0 {
				if _, err := df.f.Write(make([]byte, pad)); err != nil {
					return restore, err
				}
				df.offset += pad
			}
			if _, err := df.f.Write(data); err != nil {
				return restore, fmt.Errorf("copy external data %q: %w", ref.location, err)
			}
			at = df.offset
			written[key] = at
			df.offset += int64(len(data))
		}
		saved = append(saved, saveFields(t))
		t.ExternalData = []*onnxpb.StringStringEntryProto{
			{Key: proto.String("location"), Value: proto.String(ref.location)},
			{Key: proto.String("offset"), Value: proto.String(strconv.FormatInt(at, 10))},
			{Key: proto.String("length"), Value: proto.String(strconv.Itoa(len(data)))},
		}
	}
	return restore, nil
}

// tensorFields are the data-carrying fields of a TensorProto, saved so
// Save can put a tensor back the way it found it.
type tensorFields struct {
	t        *onnxpb.TensorProto
	raw      []byte
	floats   []float32
	int32s   []int32
	int64s   []int64
	doubles  []float64
	uint64s  []uint64
	external []*onnxpb.StringStringEntryProto
	location *onnxpb.TensorProto_DataLocation
}

func saveFields(t *onnxpb.TensorProto) tensorFields {
	return tensorFields{t, t.RawData, t.FloatData, t.Int32Data, t.Int64Data,
		t.DoubleData, t.Uint64Data, t.ExternalData, t.DataLocation}
}

func (s tensorFields) restore() {
	t := s.t
	t.RawData, t.FloatData, t.Int32Data, t.Int64Data = s.raw, s.floats, s.int32s, s.int64s
	t.DoubleData, t.Uint64Data, t.ExternalData, t.DataLocation = s.doubles, s.uint64s, s.external, s.location
}

// externalize rewrites the model's tensor layout for a threshold: large
// initializers go to a new data file beside path, everything else external
// is inlined. Like the onnx Python package, it only moves tensors whose
// data is raw (raw_data or external), so that materializing the saved
// model gives back the original message; tensors in typed fields
// (float_data, ...) move too only when the model must shrink to fit
// protobuf (typed). The returned function undoes the changes to m.Proto.
func (m *Model) externalize(path string, threshold int64, typed bool, out *pendingFiles) (func(), error) {
	var saved []tensorFields
	restore := func() {
		for i := len(saved) - 1; i >= 0; i-- {
			saved[i].restore()
		}
	}
	ef := newExternalFiles(m.Dir)
	defer ef.Close()
	dataName := filepath.Base(path) + ".data"
	var (
		dataFile *os.File
		offset   int64
		moved    = map[*onnxpb.TensorProto]bool{}
		err      error
	)
	forEachInitializer(m.Proto, func(t *onnxpb.TensorProto) {
		if err != nil || elemBits(t.GetDataType()) == 0 || t.Segment != nil {
			return
		}
		var data []byte
		switch {
		case IsExternal(t):
			data, err = ef.read(t)
		case t.RawData != nil:
			data = t.RawData
		case !typed:
			return
		default:
			n, nerr := NumElements(t)
			if nerr != nil || rawSize(t.GetDataType(), n) < threshold {
				return
			}
			data, err = Bytes(t, "")
		}
		if err != nil {
			err = fmt.Errorf("tensor %q: %w", t.GetName(), err)
			return
		}
		if int64(len(data)) < threshold {
			if IsExternal(t) {
				saved = append(saved, saveFields(t))
				materialize(t, data)
			}
			return
		}
		if dataFile == nil {
			if dataFile, err = out.create(filepath.Join(filepath.Dir(path), dataName)); err != nil {
				return
			}
		}
		if pad := (dataAlign - offset%dataAlign) % dataAlign; pad > 0 {
			if _, err = dataFile.Write(make([]byte, pad)); err != nil {
				return
			}
			offset += pad
		}
		if _, err = dataFile.Write(data); err != nil {
			return
		}
		saved = append(saved, saveFields(t))
		moved[t] = true
		t.RawData, t.FloatData, t.Int32Data, t.Int64Data, t.DoubleData, t.Uint64Data = nil, nil, nil, nil, nil, nil
		t.ExternalData = []*onnxpb.StringStringEntryProto{
			{Key: proto.String("location"), Value: proto.String(dataName)},
			{Key: proto.String("offset"), Value: proto.String(strconv.FormatInt(offset, 10))},
			{Key: proto.String("length"), Value: proto.String(strconv.Itoa(len(data)))},
		}
		t.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
		offset += int64(len(data))
	})
	if err != nil {
		return restore, err
	}
	// Tensors outside initializers (Constant attributes, sparse values)
	// that were external are inlined so the new model does not depend on
	// the old data files.
	forEachTensor(m.Proto, func(t *onnxpb.TensorProto) {
		if err != nil || moved[t] || !IsExternal(t) {
			return
		}
		var data []byte
		if data, err = ef.read(t); err != nil {
			err = fmt.Errorf("tensor %q: %w", t.GetName(), err)
			return
		}
		saved = append(saved, saveFields(t))
		materialize(t, data)
	})
	return restore, err
}
