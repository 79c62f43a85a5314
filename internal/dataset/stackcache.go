package dataset

import (
	"fmt"
	"reflect"
	"slices"
	"sync"

	"gorgonia.org/tensor"
)

// stackCacheSize bounds the stacked .npz and test_data_set samples kept
// decoded: the parts of one are read one after the other (by each worker),
// so a few entries serve every worker without memory growing with the
// number of samples.
const stackCacheSize = 4

// stackCache keeps the arrays of the stacked samples read last, so that
// reading each of a stacked .npz or test_data_set sample's N parts decodes
// the file once, not N times (compressed members cannot be read in part,
// as a .npy's bytes are).
type stackCache struct {
	mu      sync.Mutex
	entries []stackEntry // most recent last
}

type stackEntry struct {
	path   string
	arrays map[string]*tensor.Dense
}

// wholeArrays returns the arrays of e's file, whole and keyed by input
// name (an .npz's positional names mapped), decoding it at most once while
// it stays in the cache. Callers must not modify them.
func (s *Set) wholeArrays(e entry) (map[string]*tensor.Dense, error) {
	c := s.stacks
	if c != nil {
		c.mu.Lock()
		for _, ce := range c.entries {
			if ce.path == e.path {
				c.mu.Unlock()
				return ce.arrays, nil
			}
		}
		c.mu.Unlock()
	}
	whole := e
	whole.parts, whole.part, whole.axes = 0, 0, nil
	// Decoded outside the lock: two workers may decode the same file once
	// each, which costs time but not correctness.
	var arrays map[string]*tensor.Dense
	switch e.kind {
	case npzFile:
		// The members stack several samples: the probe checked one
		// sample's part of each against the model, so the whole member
		// is read within the budget only.
		whole := func(input string) npyRead {
			how := s.npyFor(input)
			how.want = nil
			return how
		}
		a, err := readNPZ(e.path, whole, func(name string) string { return s.positionalName(name, "arr_") })
		if err != nil {
			return nil, &SampleError{Sample: e.name(), Err: err}
		}
		arrays = s.positional(a, "arr_")
	case testDataSet:
		a, err := s.readTestDataSet(e.path, false)
		if err != nil {
			return nil, err
		}
		arrays = a
	default:
		return nil, &SampleError{Sample: e.name(), Err: fmt.Errorf("sample kind %d is not read whole", e.kind)}
	}
	if c != nil {
		c.mu.Lock()
		c.entries = append(c.entries, stackEntry{path: e.path, arrays: arrays})
		if len(c.entries) > stackCacheSize {
			c.entries = slices.Delete(c.entries, 0, 1)
		}
		c.mu.Unlock()
	}
	return arrays, nil
}

// readPart reads part e.part of a stacked .npz or test_data_set sample:
// each input's array cut to 1 on its batch axis (a copy). Arrays that are
// no input pass through for Load to report.
func (s *Set) readPart(e entry) (map[string]*tensor.Dense, error) {
	arrays, err := s.wholeArrays(e)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*tensor.Dense, len(arrays))
	for name, d := range arrays {
		axis, ok := e.axes[name]
		if !ok {
			out[name] = d
			continue
		}
		p, err := slicePart(d, axis, e.part, e.parts)
		if err != nil {
			return nil, &SampleError{Sample: e.name(), Input: name, Err: err}
		}
		out[name] = p
	}
	return out, nil
}

// slicePart copies index part of axis out of d, which holds parts on it.
func slicePart(d *tensor.Dense, axis, part, parts int) (*tensor.Dense, error) {
	shape := []int(d.Shape())
	if axis >= len(shape) || shape[axis] != parts {
		return nil, fmt.Errorf("array of shape %v does not stack %d samples on axis %d", shape, parts, axis)
	}
	src, err := backing(d)
	if err != nil {
		return nil, err
	}
	sv := reflect.ValueOf(src)
	block := numElements(shape[axis+1:])
	outer := numElements(shape[:axis])
	dv := reflect.MakeSlice(sv.Type(), outer*block, outer*block)
	for o := range outer {
		from := (o*parts + part) * block
		reflect.Copy(dv.Slice(o*block, (o+1)*block), sv.Slice(from, from+block))
	}
	one := slices.Clone(shape)
	one[axis] = 1
	return newDense(one, dv.Interface())
}
