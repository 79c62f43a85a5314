package dataset

import (
	"archive/zip"
	"bufio"
	"errors"
	"fmt"
	"io"
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
	// samples on their first axis where every input takes a batch of 1 or
	// a dynamic batch, N samples of batch 1 (Ethos-U runs batch 1): a .npy
	// file of a single-input model, or a folder of <input>.npy files that
	// all stack N. A model whose batch is fixed at N (for example by
	// --input-shape) takes the sample whole.
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

// Split records a stacked file that OpenSamples split into Count samples.
type Split struct {
	Path  string
	Count int
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
			out = append(out, Split{Path: e.path, Count: e.parts})
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

// splitStacked replaces each stacked sample by its samples: a .npy file
// of a single-input model, or a folder of <input>.npy files whose arrays
// all stack the same number of samples on their first axis. Every input
// must take a batch of 1 or a dynamic batch on that axis, and arrays of
// another rank are left to Load's checks.
func (s *Set) splitStacked() error {
	for _, spec := range s.specs {
		if len(spec.Shape) < 2 || (spec.Shape[0] != 1 && !isDynamic(spec.Shape[0])) {
			return nil
		}
	}
	var out []entry
	for _, e := range s.samples {
		n, err := s.stacked(e)
		if err != nil {
			return err
		}
		if n <= 1 {
			out = append(out, e)
			continue
		}
		for i := range n {
			out = append(out, entry{path: e.path, kind: e.kind, part: i, parts: n})
		}
	}
	s.samples = out
	return nil
}

// stacked returns how many samples e stacks, or 1.
func (s *Set) stacked(e entry) (int, error) {
	var files map[string]string
	switch e.kind {
	case npyFile:
		files = map[string]string{s.specs[0].Name: e.path}
	case inputFolder:
		files = map[string]string{}
		for _, spec := range s.specs {
			files[spec.Name] = filepath.Join(e.path, spec.Name+".npy")
		}
	default:
		return 1, nil
	}
	n := -1
	for _, spec := range s.specs {
		h, err := npyInfoOf(files[spec.Name])
		if errors.Is(err, fs.ErrNotExist) && e.kind == inputFolder {
			return 1, nil // Load reports the missing input
		}
		if err != nil {
			return 0, &SampleError{Sample: e.path, Input: spec.Name, Err: err}
		}
		if len(h.shape) != len(spec.Shape) || (n >= 0 && h.shape[0] != n) {
			return 1, nil
		}
		if h.shape[0] > 1 {
			one := slices.Clone(h.shape)
			one[0] = 1
			if spec.checkHeader(h.dt, one) != nil {
				return 1, nil // not samples of this input: probe names the mismatch
			}
			// Each stacked sample is read on its own, so the budget is
			// per sample, but the file must hold them all.
			if _, err := checkPayload(h.shape, h.dt, h.avail, onnxio.Limits{MaxTensorBytes: math.MaxInt64}); err != nil {
				return 0, &SampleError{Sample: e.path, Input: spec.Name, Err: err}
			}
		}
		n = h.shape[0]
	}
	return n, nil
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
// along its first axis, reading only that sample's bytes.
func (s *Set) readNPYPart(path, input string, part, parts int) (*tensor.Dense, error) {
	f, _, err := onnxio.OpenRegular(path)
	if err != nil {
		return nil, unwrapPath(err)
	}
	defer f.Close()
	// Unbuffered, so the file offset is at the data after the header.
	h, err := readNPYInfo(f)
	if err != nil {
		return nil, err
	}
	if len(h.shape) == 0 || h.shape[0] != parts {
		return nil, fmt.Errorf("the file changed: it now holds shape %v, not %d stacked samples", h.shape, parts)
	}
	one := slices.Clone(h.shape)
	one[0] = 1
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
	skip := int64(part) * int64(n) * int64(elemSize(h.dt))
	if _, err := f.Seek(skip, io.SeekCurrent); err != nil {
		return nil, err
	}
	return h.decode(f, one, how)
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
		shape, err := s.probeHeader(s.specs[0], h, e.parts > 0)
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
			shape, err := s.probeHeader(spec, h, e.parts > 0)
			if err != nil {
				return fail(spec.Name, err)
			}
			out[spec.Name] = shape
		}
		return out, nil
	case npzFile:
		return s.probeNPZ(e)
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
// the shape one sample gives the input (batch 1 for a stacked file, whose
// size stacked checked).
func (s *Set) probeHeader(spec InputSpec, h npyInfo, stacked bool) ([]int, error) {
	shape := slices.Clone(h.shape)
	avail := h.avail
	if stacked {
		shape[0] = 1
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

func (s *Set) probeNPZ(e entry) (map[string][]int, error) {
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
		if err == nil {
			if spec, ok := s.spec(name); ok {
				err = spec.checkHeader(h.dt, h.shape)
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
		d, err := s.readNPYPart(filepath.Join(e.path, de.Name()), name, e.part, e.parts)
		if err != nil {
			return nil, &SampleError{Sample: e.name(), Input: name, Err: err}
		}
		out[name] = d
	}
	return out, nil
}
