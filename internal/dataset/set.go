package dataset

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/onnxio"
)

// Sample is one set of model inputs.
type Sample struct {
	Name   string // path of the sample's file or folder
	Inputs map[string]*tensor.Dense
	// Dims holds the values that named dynamic dimensions (InputSpec.DimNames)
	// take in this sample.
	Dims map[string]int
}

// Set is an ordered list of samples; only paths are held until Load.
type Set struct {
	specs   []InputSpec
	samples []entry
	// recycled holds *[]float32 arrays of released samples (see Release).
	recycled sync.Pool
	// shapes holds each sample's array shapes by input, when OpenSamples
	// probed them.
	shapes []map[string][]int
	// load gives the arrays of in-memory sample i (FromFunc).
	load func(i int) (map[string]*tensor.Dense, error)
	// stacks keeps stacked .npz and test_data_set samples decoded while
	// their parts are read (nil for in-memory sets).
	stacks *stackCache
	// limits bound every array a sample file may make the set allocate.
	limits onnxio.Limits
}

type kind int

const (
	npyFile     kind = iota // single-input sample
	npzFile                 // one array per input
	inputFolder             // one <input>.npy per input
	testDataSet             // input_N.pb TensorProtos
	inMemory                // given by a function (FromFunc)
)

type entry struct {
	path string
	kind kind
	// part of parts: one sample of a stacked sample (see OpenSamples);
	// parts is 0 for a file that is one sample. For an in-memory sample,
	// part is its index.
	part, parts int
	// axes is each input's batch axis in a stacked sample (shared by its
	// parts).
	axes map[string]int
}

// partShapes turns the array shapes of e's file into the shapes of its
// part: 1 on each input's batch axis.
func (e entry) partShapes(shapes map[string][]int) map[string][]int {
	if e.parts == 0 {
		return shapes
	}
	out := make(map[string][]int, len(shapes))
	for name, sh := range shapes {
		if axis, ok := e.axes[name]; ok && axis < len(sh) {
			sh = slices.Clone(sh)
			sh[axis] = 1
		}
		out[name] = sh
	}
	return out
}

// name is how messages and Names refer to the sample.
func (e entry) name() string {
	if e.parts == 0 {
		return e.path
	}
	return fmt.Sprintf("%s[%d]", e.path, e.part)
}

// Open lists the samples at paths. Each path is a sample (a .npy or .npz
// file, a folder of <input>.npy files, or a test_data_set folder) or a folder
// of samples, which are taken in name order so runs are reproducible. Open
// reads no array data; Load reads and checks one sample.
func Open(paths []string, specs []InputSpec) (*Set, error) {
	if len(specs) == 0 {
		return nil, errors.New("the model has no inputs to feed")
	}
	seen := map[string]bool{}
	for _, s := range specs {
		if seen[s.Name] {
			return nil, fmt.Errorf("input %q is listed twice", s.Name)
		}
		seen[s.Name] = true
	}
	if len(paths) == 0 {
		return nil, errors.New("no calibration data given")
	}
	set := &Set{specs: specs, stacks: &stackCache{}, limits: onnxio.Limits{}.WithDefaults()}
	for _, p := range paths {
		found, err := set.list(p)
		if err != nil {
			return nil, err
		}
		set.samples = append(set.samples, found...)
	}
	return set, nil
}

// Len is the number of samples (0 for a nil Set).
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.samples)
}

// Names returns the samples' paths in order.
func (s *Set) Names() []string {
	names := make([]string, len(s.samples))
	for i, e := range s.samples {
		names[i] = e.name()
	}
	return names
}

// list returns the samples at one path given to Open.
func (s *Set) list(p string) ([]entry, error) {
	info, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("calibration data %q: %w", p, fs.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("calibration data %q: %w", p, err)
	}
	if !info.IsDir() {
		k, ok := fileKind(p)
		if !ok {
			return nil, fmt.Errorf("calibration data %q: not a .npy or .npz file, nor a folder", p)
		}
		e := entry{path: p, kind: k}
		return []entry{e}, s.fits(e)
	}
	if k, ok, err := s.folderKind(p); err != nil {
		return nil, err
	} else if ok {
		return []entry{{path: p, kind: k}}, nil
	}
	// A folder of samples. os.ReadDir sorts by file name.
	des, err := os.ReadDir(p)
	if err != nil {
		return nil, fmt.Errorf("calibration data %q: %w", p, err)
	}
	var out []entry
	for _, de := range des {
		if strings.HasPrefix(de.Name(), ".") {
			continue
		}
		sub := filepath.Join(p, de.Name())
		if !de.IsDir() {
			if k, ok := fileKind(sub); ok {
				e := entry{path: sub, kind: k}
				if err := s.fits(e); err != nil {
					return nil, err
				}
				out = append(out, e)
			}
			continue
		}
		k, ok, err := s.folderKind(sub)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("calibration data %q: folder %q holds neither <input>.npy files (model inputs: %s) nor input_N.pb files",
				p, de.Name(), s.inputNames())
		}
		out = append(out, entry{path: sub, kind: k})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("calibration data %q: the folder holds no samples (.npy or .npz files, folders of <input>.npy, test_data_set folders)", p)
	}
	return out, nil
}

// fits rejects a single .npy sample for a model with several inputs early,
// rather than once per sample at Load.
func (s *Set) fits(e entry) error {
	if e.kind == npyFile && len(s.specs) != 1 {
		return fmt.Errorf("sample %q: a .npy file holds one array but the model has %d inputs (%s); use a folder of <input>.npy files or an .npz",
			e.path, len(s.specs), s.inputNames())
	}
	return nil
}

func fileKind(p string) (kind, bool) {
	switch strings.ToLower(filepath.Ext(p)) {
	case ".npy":
		return npyFile, true
	case ".npz":
		return npzFile, true
	}
	return 0, false
}

// folderKind tells whether dir is itself one sample: it holds <input>.npy
// for some model input, or input_N.pb files.
func (s *Set) folderKind(dir string) (kind, bool, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return 0, false, fmt.Errorf("calibration data %q: %w", dir, err)
	}
	names := map[string]bool{}
	pb := false
	for _, de := range des {
		if de.IsDir() {
			continue
		}
		names[de.Name()] = true
		if _, ok := pbIndex(de.Name()); ok {
			pb = true
		}
	}
	for _, spec := range s.specs {
		if names[spec.Name+".npy"] {
			return inputFolder, true, nil
		}
	}
	if pb {
		return testDataSet, true, nil
	}
	return 0, false, nil
}

// pbIndex parses N from "input_N.pb".
func pbIndex(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "input_")
	if !ok {
		return 0, false
	}
	rest, ok = strings.CutSuffix(rest, ".pb")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil && n >= 0
}

func (s *Set) inputNames() string {
	names := make([]string, len(s.specs))
	for i, spec := range s.specs {
		names[i] = spec.Name
	}
	return strings.Join(names, ", ")
}

func (s *Set) spec(name string) (InputSpec, bool) {
	for _, spec := range s.specs {
		if spec.Name == name {
			return spec, true
		}
	}
	return InputSpec{}, false
}
