package dataset

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"gorgonia.org/tensor"
)

// Load reads sample i and checks it against the model's inputs. Errors about
// the sample are *SampleError values.
func (s *Set) Load(i int) (Sample, error) {
	if i < 0 || i >= len(s.samples) {
		return Sample{}, fmt.Errorf("sample index %d out of range [0, %d)", i, len(s.samples))
	}
	e := s.samples[i]
	arrays, err := s.read(e)
	if err != nil {
		return Sample{}, err
	}
	name := e.name()
	sample := Sample{Name: name, Inputs: make(map[string]*tensor.Dense, len(s.specs)), Dims: map[string]int{}}
	for name := range arrays {
		if _, ok := s.spec(name); !ok {
			return Sample{}, &SampleError{Sample: e.name(), Input: name,
				Err: kindf(ErrUnknownInput, "is not an input of the model (inputs: %s)", s.inputNames())}
		}
	}
	for _, spec := range s.specs {
		d, ok := arrays[spec.Name]
		if !ok {
			return Sample{}, &SampleError{Sample: name, Input: spec.Name,
				Err: kindf(ErrMissingInput, "the sample has no array for it")}
		}
		if err := checkInput(spec, d, sample.Dims); err != nil {
			return Sample{}, &SampleError{Sample: name, Input: spec.Name, Err: err}
		}
		sample.Inputs[spec.Name] = d
	}
	return sample, nil
}

// read returns the arrays of one sample keyed by input name.
func (s *Set) read(e entry) (map[string]*tensor.Dense, error) {
	fail := func(input string, err error) (map[string]*tensor.Dense, error) {
		return nil, &SampleError{Sample: e.name(), Input: input, Err: err}
	}
	switch e.kind {
	case npyFile:
		var d *tensor.Dense
		var err error
		if e.parts > 0 {
			d, err = s.readNPYPart(e.path, s.specs[0].Name, e.part, e.parts, e.axes[s.specs[0].Name])
		} else {
			d, err = s.readNPYBare(e.path, s.specs[0].Name)
		}
		if err != nil {
			return fail(s.specs[0].Name, err)
		}
		return map[string]*tensor.Dense{s.specs[0].Name: d}, nil
	case npzFile:
		if e.parts > 0 {
			return s.readPart(e)
		}
		arrays, err := readNPZ(e.path, s.npyFor, func(name string) string { return s.positionalName(name, "arr_") })
		if err != nil {
			return fail("", err)
		}
		return s.positional(arrays, "arr_"), nil
	case inputFolder:
		if e.parts > 0 {
			return s.readFolderPart(e)
		}
		return s.readFolder(e.path)
	case testDataSet:
		if e.parts > 0 {
			return s.readPart(e)
		}
		return s.readTestDataSet(e.path, true)
	case inMemory:
		arrays, err := s.load(e.part)
		if err != nil {
			return fail("", err)
		}
		return arrays, nil
	}
	return fail("", fmt.Errorf("unknown sample kind %d", e.kind))
}

// readNPYBare reads a .npy holding input's array for a sample, whose
// SampleError names the path already.
func (s *Set) readNPYBare(path, input string) (*tensor.Dense, error) {
	d, err := readNPY(path, s.npyFor(input))
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return nil, pe.Err
	}
	return d, err
}

// positional maps arrays named prefix+N (numpy.savez(f, *arrays)) that match
// no input to the N-th input.
func (s *Set) positional(arrays map[string]*tensor.Dense, prefix string) map[string]*tensor.Dense {
	out := make(map[string]*tensor.Dense, len(arrays))
	for name, d := range arrays {
		out[s.positionalName(name, prefix)] = d
	}
	return out
}

// positionalName is the input an array named prefix+N stands for, or name
// itself when it is an input's name or not of that form.
func (s *Set) positionalName(name, prefix string) string {
	if _, ok := s.spec(name); !ok {
		if n, err := strconv.Atoi(strings.TrimPrefix(name, prefix)); err == nil && strings.HasPrefix(name, prefix) && n >= 0 && n < len(s.specs) {
			return s.specs[n].Name
		}
	}
	return name
}

func (s *Set) readFolder(dir string) (map[string]*tensor.Dense, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, &SampleError{Sample: dir, Err: err}
	}
	out := map[string]*tensor.Dense{}
	for _, de := range des {
		name, ok := strings.CutSuffix(de.Name(), ".npy")
		if de.IsDir() || !ok {
			continue
		}
		d, err := s.readNPYBare(filepath.Join(dir, de.Name()), name)
		if err != nil {
			return nil, &SampleError{Sample: dir, Input: name, Err: err}
		}
		out[name] = d
	}
	return out, nil
}

// readTestDataSet reads input_N.pb files: a tensor's name field names its
// input; a tensor without a known name is the N-th input. With
// againstModel, each tensor's declared type and shape must fit its input
// before its data is read; a stacked sample, read whole to be split, is
// checked part by part instead.
func (s *Set) readTestDataSet(dir string, againstModel bool) (map[string]*tensor.Dense, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, &SampleError{Sample: dir, Err: err}
	}
	type file struct {
		n    int
		name string
	}
	var files []file
	for _, de := range des {
		if n, ok := pbIndex(de.Name()); ok && !de.IsDir() {
			files = append(files, file{n, de.Name()})
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].n < files[j].n })
	out := map[string]*tensor.Dense{}
	for _, f := range files {
		name, d, err := readSampleProto(filepath.Join(dir, f.name), s.limits, func(name string) (InputSpec, bool) {
			if !againstModel {
				return InputSpec{}, false
			}
			if spec, ok := s.spec(name); ok {
				return spec, true
			}
			if f.n < len(s.specs) {
				return s.specs[f.n], true
			}
			return InputSpec{}, false
		})
		if err != nil {
			return nil, &SampleError{Sample: dir, Err: err}
		}
		if _, ok := s.spec(name); !ok && f.n < len(s.specs) {
			name = s.specs[f.n].Name
		}
		if name == "" {
			name = f.name
		}
		if _, dup := out[name]; dup {
			return nil, &SampleError{Sample: dir, Input: name, Err: fmt.Errorf("%s gives this input a second time", f.name)}
		}
		out[name] = d
	}
	return out, nil
}

// Release hands the float32 arrays of a loaded sample back to the set, for
// later Loads to read into. The caller must not use smp's inputs after.
//
// Reading a sample into freshly allocated memory costs more than the read
// itself on some machines (every page is faulted in on first touch; seen
// as a third of a millisecond per 600 KB image here), and a calibration
// reads thousands of same-sized samples.
func (s *Set) Release(smp Sample) {
	for _, d := range smp.Inputs {
		if f, ok := d.Data().([]float32); ok && cap(f) > 0 {
			s.recycled.Put(&f)
		}
	}
}

// npyFor is how the set reads input's array: within its budget, float32
// memory from released samples, and the header checked against the
// model's input before any data is read (an array named after no input is
// read unchecked, for Load to name).
func (s *Set) npyFor(input string) npyRead {
	how := npyRead{limits: s.limits, f32: s.float32s}
	if spec, ok := s.spec(input); ok {
		how.want = spec.checkHeader
	}
	return how
}

// float32s returns n float32s with unspecified contents, reusing a
// released array when one is large enough.
func (s *Set) float32s(n int) []float32 {
	if p, ok := s.recycled.Get().(*[]float32); ok && cap(*p) >= n {
		return (*p)[:n]
	}
	return make([]float32, n)
}
