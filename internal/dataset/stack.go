package dataset

import (
	"archive/zip"
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/onnxquant/onnxquant/onnxio"
	"gorgonia.org/tensor"
)

// Options say how OpenSamples fits sample files to the model.
type Options struct {
	// SplitBatches makes a stacked sample, whose arrays hold N > 1
	// samples on their inputs' batch axes (see batchaxis.go: the axis the
	// model declares as 1 or names as a batch, else a dynamic first axis),
	// N samples of batch 1 (Ethos-U runs batch 1), whatever its form: a
	// .npy file of a single-input model, a folder of <input>.npy files, a
	// .npz archive or a test_data_set folder whose arrays all stack N. A
	// model whose batch is fixed at N (for example by --input-shape) takes
	// the sample whole.
	SplitBatches bool
	// SameShapes makes samples that give an input different shapes an
	// error at Open: a model compiled for one static shape cannot take
	// them. Models whose control flow depends on the input size (Silero's
	// 8 and 16 kHz paths) need it off.
	SameShapes bool
	// Limits bound every array a sample file may make the reader allocate
	// (zero fields mean onnxio's defaults): a header declaring more than
	// the tensor budget is refused before its data is read.
	Limits onnxio.Limits
}

// Split records a stacked file that OpenSamples split into Count samples,
// and the axis of each input it split along.
type Split struct {
	Path  string
	Count int
	Axes  map[string]int
}

// OpenSamples is Open that reads the arrays' headers (not their data) to
// split stacked files and to check that the samples agree on their shapes.
func OpenSamples(paths []string, specs []InputSpec, opts Options) (*Set, error) {
	set, err := Open(paths, specs)
	if err != nil {
		return nil, err
	}
	set.limits = opts.Limits.WithDefaults()
	if opts.SplitBatches {
		if err := set.splitStacked(); err != nil {
			return nil, err
		}
	}
	shapes, err := set.probeAll()
	if err != nil {
		return nil, err
	}
	set.shapes = shapes
	if opts.SameShapes {
		if err := set.sameShapes(); err != nil {
			return nil, err
		}
	}
	return set, nil
}

// Splits lists the stacked files OpenSamples split, in order.
func (s *Set) Splits() []Split {
	var out []Split
	for _, e := range s.samples {
		if e.parts > 0 && e.part == 0 {
			out = append(out, Split{Path: e.path, Count: e.parts, Axes: e.axes})
		}
	}
	return out
}

// Shapes returns the shape each input takes in every sample, or nil for
// an input whose samples disagree or were not probed (OpenSamples probes;
// Open does not).
func (s *Set) Shapes() map[string][]int {
	if len(s.shapes) == 0 {
		return nil
	}
	out := map[string][]int{}
	for _, spec := range s.specs {
		first := s.shapes[0][spec.Name]
		same := first != nil
		for _, sh := range s.shapes[1:] {
			same = same && slices.Equal(sh[spec.Name], first)
		}
		if same {
			out[spec.Name] = first
		} else {
			out[spec.Name] = nil
		}
	}
	return out
}

// splitStacked replaces each stacked sample by its samples: a sample
// whose arrays all stack the same number of samples on their inputs' batch
// axes, in any sample form. Every input must have a batch axis (see
// batchaxis.go); arrays of another rank are left to Load's checks.
func (s *Set) splitStacked() error {
	for _, spec := range s.specs {
		if !spec.splittable() {
			return nil
		}
	}
	var out []entry
	for _, e := range s.samples {
		n, axes, err := s.stacked(e)
		if err != nil {
			return err
		}
		if n <= 1 {
			out = append(out, e)
			continue
		}
		for i := range n {
			out = append(out, entry{path: e.path, kind: e.kind, part: i, parts: n, axes: axes})
		}
	}
	s.samples = out
	return nil
}

// stacked returns how many samples e stacks and each input's batch axis,
// or 1 when it is one sample (or its arrays disagree, which Load reports).
func (s *Set) stacked(e entry) (int, map[string]int, error) {
	shapes := map[string][]int{}
	headers := map[string]npyInfo{}
	switch e.kind {
	case npyFile, inputFolder:
		files := map[string]string{s.specs[0].Name: e.path}
		if e.kind == inputFolder {
			for _, spec := range s.specs {
				files[spec.Name] = filepath.Join(e.path, spec.Name+".npy")
			}
		}
		for _, spec := range s.specs {
			h, err := npyInfoOf(files[spec.Name])
			if errors.Is(err, fs.ErrNotExist) && e.kind == inputFolder {
				return 1, nil, nil // Load reports the missing input
			}
			if err != nil {
				return 0, nil, &SampleError{Sample: e.path, Input: spec.Name, Err: err}
			}
			shapes[spec.Name], headers[spec.Name] = h.shape, h
		}
	case npzFile:
		var err error
		if shapes, err = s.probeNPZ(e, false); err != nil {
			return 0, nil, err
		}
	case testDataSet:
		arrays, err := s.wholeArrays(e)
		if err != nil {
			return 0, nil, err
		}
		for name, d := range arrays {
			shapes[name] = []int(d.Shape())
		}
	default:
		return 1, nil, nil
	}
	n, axes := -1, map[string]int{}
	for _, spec := range s.specs {
		shape, ok := shapes[spec.Name]
		if !ok {
			return 1, nil, nil // Load reports the missing input
		}
		axis, k, err := spec.stackAxis(shape)
		if err != nil {
			return 0, nil, &SampleError{Sample: e.path, Input: spec.Name, Err: err}
		}
		if k <= 1 || (n >= 0 && k != n) {
			return 1, nil, nil
		}
		if h, ok := headers[spec.Name]; ok {
			one := slices.Clone(h.shape)
			one[axis] = 1
			if spec.checkHeader(h.dt, one) != nil {
				return 1, nil, nil // not samples of this input: probe names the mismatch
			}
			// Each stacked sample is read on its own, so the budget is
			// per sample, but the file must hold them all.
			if _, err := checkPayload(h.shape, h.dt, h.avail, onnxio.Limits{MaxTensorBytes: math.MaxInt64}); err != nil {
				return 0, nil, &SampleError{Sample: e.path, Input: spec.Name, Err: err}
			}
		}
		n, axes[spec.Name] = k, axis
	}
	return n, axes, nil
}

// npyInfoOf reads the header of a .npy file, with avail set to the bytes
// that follow it.
func npyInfoOf(path string) (npyInfo, error) {
	f, st, err := onnxio.OpenRegular(path)
	if err != nil {
		return npyInfo{}, unwrapPath(err)
	}
	defer f.Close()
	h, err := readNPYInfo(bufio.NewReaderSize(f, 4096))
	h.avail = st.Size() - h.headerBytes
	return h, err
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// readNPYPart reads sample part of a .npy file stacking parts samples
// along axis, reading only that sample's bytes (one block per index of
// the axes before it).
func (s *Set) readNPYPart(path, input string, part, parts, axis int) (*tensor.Dense, error) {
	f, st, err := onnxio.OpenRegular(path)
	if err != nil {
		return nil, unwrapPath(err)
	}
	defer f.Close()
	h, err := readNPYInfo(bufio.NewReaderSize(f, 4096))
	if err != nil {
		return nil, err
	}
	if axis >= len(h.shape) || h.shape[axis] != parts {
		return nil, fmt.Errorf("the file changed: it now holds shape %v, not %d samples stacked on axis %d", h.shape, parts, axis)
	}
	if _, err := checkPayload(h.shape, h.dt, st.Size()-h.headerBytes, onnxio.Limits{MaxTensorBytes: math.MaxInt64}); err != nil {
		return nil, err
	}
	one := slices.Clone(h.shape)
	one[axis] = 1
	how := s.npyFor(input)
	if how.want != nil {
		if err := how.want(h.dt, one); err != nil {
			return nil, err
		}
	}
	n, err := checkPayload(one, h.dt, -1, s.limits)
	if err != nil {
		return nil, err
	}
	data, raw, err := makeRaw(h.dt, n, how.f32)
	if err != nil {
		return nil, err
	}
	block := numElements(h.shape[axis+1:]) * elemSize(h.dt)
	for o := range numElements(h.shape[:axis]) {
		off := h.headerBytes + int64(o*parts+part)*int64(block)
		if _, err := f.ReadAt(raw[o*block:(o+1)*block], off); err != nil {
			return nil, fmt.Errorf("reading sample %d of %d stacked on axis %d: %w", part, parts, axis, err)
		}
	}
	fromOrder(h.dt, raw, h.order)
	return newDense(one, data)
}

// probeAll reads the shapes every sample gives each input.
func (s *Set) probeAll() ([]map[string][]int, error) {
	out := make([]map[string][]int, len(s.samples))
	for i, e := range s.samples {
		shapes, err := s.probe(e)
		if err != nil {
			return nil, err
		}
		out[i] = shapes
	}
	return out, nil
}

// probe returns the shapes of one sample's arrays by input name, reading
// headers only (test_data_set tensors are read whole).
func (s *Set) probe(e entry) (map[string][]int, error) {
	fail := func(input string, err error) (map[string][]int, error) {
		return nil, &SampleError{Sample: e.name(), Input: input, Err: err}
	}
	switch e.kind {
	case npyFile:
		h, err := npyInfoOf(e.path)
		if err != nil {
			return fail(s.specs[0].Name, err)
		}
		shape, err := s.probeHeader(s.specs[0], h, e.stackAxis(s.specs[0].Name))
		if err != nil {
			return fail(s.specs[0].Name, err)
		}
		return map[string][]int{s.specs[0].Name: shape}, nil
	case inputFolder:
		out := map[string][]int{}
		for _, spec := range s.specs {
			h, err := npyInfoOf(filepath.Join(e.path, spec.Name+".npy"))
			if errors.Is(err, fs.ErrNotExist) {
				continue // Load reports the missing input
			}
			if err != nil {
				return fail(spec.Name, err)
			}
			shape, err := s.probeHeader(spec, h, e.stackAxis(spec.Name))
			if err != nil {
				return fail(spec.Name, err)
			}
			out[spec.Name] = shape
		}
		return e.partShapes(out), nil
	case npzFile:
		shapes, err := s.probeNPZ(e, true)
		if err != nil {
			return nil, err
		}
		return e.partShapes(shapes), nil
	}
	arrays, err := s.read(e)
	if err != nil {
		return nil, err
	}
	out := map[string][]int{}
	for name, d := range arrays {
		out[name] = []int(d.Shape())
	}
	return out, nil
}

// probeHeader checks a .npy header of spec's input against the model,
// then against the bytes its file holds and the tensor budget, and returns
// the shape one sample gives the input (1 along axis for a stacked file,
// whose size stacked checked; axis is -1 for a file holding one sample).
func (s *Set) probeHeader(spec InputSpec, h npyInfo, axis int) ([]int, error) {
	shape := slices.Clone(h.shape)
	avail := h.avail
	if axis >= 0 && axis < len(shape) {
		shape[axis] = 1
		avail = -1
	}
	if err := spec.checkHeader(h.dt, shape); err != nil {
		return nil, err
	}
	if _, err := checkPayload(shape, h.dt, avail, s.limits); err != nil {
		return nil, err
	}
	return shape, nil
}

// stackAxis is the axis input's samples are stacked on in e, or -1.
func (e entry) stackAxis(input string) int {
	if e.parts == 0 {
		return -1
	}
	if axis, ok := e.axes[input]; ok {
		return axis
	}
	return -1
}

// probeNPZ reads the shapes of e's members from their headers, each
// bounded by its inflated size and the tensor budget (members are inflated
// whole). With againstModel, the shape one sample gives an input (a part of
// a stacked member) must also fit the model's; the stacking probe, which
// decides the parts, passes false.
func (s *Set) probeNPZ(e entry, againstModel bool) (map[string][]int, error) {
	f, st, err := onnxio.OpenRegular(e.path)
	if err != nil {
		return nil, &SampleError{Sample: e.name(), Err: err}
	}
	defer f.Close()
	zr, err := zip.NewReader(f, st.Size())
	if err != nil {
		return nil, &SampleError{Sample: e.name(), Err: err}
	}
	if err := checkNPZMembers(e.path, zr, s.limits); err != nil {
		return nil, &SampleError{Sample: e.name(), Err: err}
	}
	out := map[string][]int{}
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		name := s.positionalName(strings.TrimSuffix(path.Base(f.Name), ".npy"), "arr_")
		rc, err := f.Open()
		if err != nil {
			return nil, &SampleError{Sample: e.name(), Input: name, Err: err}
		}
		h, err := readNPYInfo(bufio.NewReader(rc))
		rc.Close()
		if err == nil && againstModel {
			if spec, ok := s.spec(name); ok {
				err = spec.checkHeader(h.dt, e.partShapes(map[string][]int{name: h.shape})[name])
			}
		}
		if err == nil {
			_, err = checkPayload(h.shape, h.dt, int64(f.UncompressedSize64)-h.headerBytes, s.limits)
		}
		if err != nil {
			return nil, &SampleError{Sample: e.name(), Input: name, Err: err}
		}
		out[name] = h.shape
	}
	return out, nil
}

// sameShapes fails when two samples give an input different shapes.
func (s *Set) sameShapes() error {
	for _, spec := range s.specs {
		first := s.shapes[0][spec.Name]
		for i, sh := range s.shapes[1:] {
			if first != nil && sh[spec.Name] != nil && !slices.Equal(sh[spec.Name], first) {
				return &SampleError{Sample: s.samples[i+1].name(), Input: spec.Name, Err: kindf(ErrShapeMismatch,
					"shape %v differs from the %v of the first sample %q: a model is compiled for one static shape; give samples of one shape (fix it with --input-shape %s=...)",
					sh[spec.Name], first, s.samples[0].name(), spec.Name)}
			}
		}
	}
	return nil
}

// FromFunc returns a set of n samples held by the caller: load(i) gives
// sample i's arrays by input name, and name(i) what messages call it.
// They are checked against specs on Load like samples read from files.
func FromFunc(specs []InputSpec, n int, name func(i int) string, load func(i int) (map[string]*tensor.Dense, error)) (*Set, error) {
	if len(specs) == 0 {
		return nil, errors.New("the model has no inputs to feed")
	}
	if n == 0 {
		return nil, errors.New("no calibration data given")
	}
	set := &Set{specs: specs, load: load}
	for i := range n {
		set.samples = append(set.samples, entry{path: name(i), kind: inMemory, part: i})
	}
	return set, nil
}

// readFolderPart reads one sample of a folder whose <input>.npy arrays
// stack e.parts samples; arrays named after no input are reported as
// they are for a whole folder.
func (s *Set) readFolderPart(e entry) (map[string]*tensor.Dense, error) {
	des, err := os.ReadDir(e.path)
	if err != nil {
		return nil, &SampleError{Sample: e.name(), Err: err}
	}
	out := map[string]*tensor.Dense{}
	for _, de := range des {
		name, ok := strings.CutSuffix(de.Name(), ".npy")
		if de.IsDir() || !ok {
			continue
		}
		if _, known := s.spec(name); !known {
			out[name] = nil // Load names it as unknown
			continue
		}
		d, err := s.readNPYPart(filepath.Join(e.path, de.Name()), name, e.part, e.parts, e.axes[name])
		if err != nil {
			return nil, &SampleError{Sample: e.name(), Input: name, Err: err}
		}
		out[name] = d
	}
	return out, nil
}
