package dataset

import (
	"fmt"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/calib/sample"
)

// Of returns src as a Set checked against specs: src itself when it is a
// Set (sample files opened by this package), otherwise a Set that reads
// src's samples on Load, named by src's Namer or as "sample N". A nil src
// gives a nil Set (quantizing from stats needs no samples).
func Of(src sample.Source, specs []InputSpec) (*Set, error) {
	switch s := src.(type) {
	case nil:
		return nil, nil
	case *Set:
		return s, nil
	}
	name := func(i int) string { return fmt.Sprintf("sample %d", i) }
	if n, ok := src.(sample.Namer); ok {
		name = n.Name
	}
	return FromFunc(specs, src.Len(), name, func(i int) (map[string]*tensor.Dense, error) {
		smp, err := src.Sample(i)
		if err != nil {
			return nil, err
		}
		out := make(map[string]*tensor.Dense, len(smp))
		for input, t := range smp {
			d, err := denseOf(t)
			if err != nil {
				return nil, fmt.Errorf("input %q: %w", input, err)
			}
			out[input] = d
		}
		return out, nil
	})
}

// denseOf wraps t's data, without copying, as the Dense the checks and
// the interpreter read.
func denseOf(t sample.Tensor) (*tensor.Dense, error) {
	n := 1
	for _, d := range t.Shape {
		if d < 1 {
			return nil, fmt.Errorf("shape %v has a dimension below 1", t.Shape)
		}
		n *= d
	}
	var backing any
	switch {
	case t.Float32 != nil && t.Int64 != nil:
		return nil, fmt.Errorf("both Float32 and Int64 data are set")
	case t.Float32 != nil:
		if len(t.Float32) != n {
			return nil, fmt.Errorf("shape %v needs %d values, Float32 holds %d", t.Shape, n, len(t.Float32))
		}
		if len(t.Shape) == 0 {
			return tensor.New(tensor.FromScalar(t.Float32[0])), nil
		}
		backing = t.Float32
	case t.Int64 != nil:
		if len(t.Int64) != n {
			return nil, fmt.Errorf("shape %v needs %d values, Int64 holds %d", t.Shape, n, len(t.Int64))
		}
		if len(t.Shape) == 0 {
			return tensor.New(tensor.FromScalar(t.Int64[0])), nil
		}
		backing = t.Int64
	default:
		return nil, fmt.Errorf("no data")
	}
	return tensor.New(tensor.WithShape(t.Shape...), tensor.WithBacking(backing)), nil
}

// Name is the path (or the source's name) of sample i; with Sample it
// makes a Set a sample.Source and a sample.Namer.
func (s *Set) Name(i int) string { return s.samples[i].name() }

// Sample loads and checks sample i and returns its arrays as package
// sample's tensors (sharing their memory). Only float32 and int64 inputs
// have that form; others are an error naming the input.
func (s *Set) Sample(i int) (map[string]sample.Tensor, error) {
	smp, err := s.Load(i)
	if err != nil {
		return nil, err
	}
	out := make(map[string]sample.Tensor, len(smp.Inputs))
	for input, d := range smp.Inputs {
		t := sample.Tensor{Shape: append([]int{}, d.Shape()...)}
		if len(d.Shape()) == 0 {
			t.Shape = []int{}
		}
		switch v := d.Data().(type) {
		case []float32:
			t.Float32 = v
		case float32:
			t.Float32 = []float32{v}
		case []int64:
			t.Int64 = v
		case int64:
			t.Int64 = []int64{v}
		default:
			return nil, &SampleError{Sample: smp.Name, Input: input, Err: fmt.Errorf("%s data has no sample.Tensor form (float32 or int64)", d.Dtype())}
		}
		out[input] = t
	}
	return out, nil
}

var _ sample.Namer = (*Set)(nil)
var _ sample.Source = (*Set)(nil)
