package onnxdense

import (
	"reflect"

	"gorgonia.org/tensor"
)

// gorgonia.org/tensor cannot hold a tensor with no elements (its Dense
// points at element 0), yet exporters write them everywhere: Resize's unused
// roi, Slice and Concat results in shape arithmetic, ReduceX's empty axes.
// An empty tensor is therefore a one-element Dense of the right element type
// whose engine is an emptyEngine recording the real shape. The interpreter's
// kernels (through internal/kernels' Dims and Flat) see the real shape and a
// zero-length slice; gorgonia's own arithmetic refuses it, because
// emptyEngine implements none of gorgonia's operation interfaces, so a stray
// use fails loudly instead of computing on the placeholder element.
type emptyEngine struct {
	shape []int
}

func (emptyEngine) AllocAccessible() bool { return true }
func (emptyEngine) Alloc(size int64) (tensor.Memory, error) {
	return tensor.StdEng{}.Alloc(size)
}
func (emptyEngine) Free(mem tensor.Memory, size int64) error {
	return tensor.StdEng{}.Free(mem, size)
}
func (emptyEngine) Memset(mem tensor.Memory, val any) error {
	return tensor.StdEng{}.Memset(mem, val)
}
func (emptyEngine) Memclr(mem tensor.Memory)                            { tensor.StdEng{}.Memclr(mem) }
func (emptyEngine) Memcpy(dst, src tensor.Memory) error                 { return tensor.StdEng{}.Memcpy(dst, src) }
func (emptyEngine) Accessible(mem tensor.Memory) (tensor.Memory, error) { return mem, nil }
func (emptyEngine) WorksWith(tensor.DataOrder) bool                     { return true }

// EmptyDense returns a tensor of the given shape, which must have a zero
// dimension, and element type.
func EmptyDense(shape []int, dt tensor.Dtype) *tensor.Dense {
	e := &emptyEngine{shape: append([]int{}, shape...)}
	if dt.Type == nil {
		dt = tensor.Float32
	}
	backing := reflect.MakeSlice(reflect.SliceOf(dt.Type), 1, 1).Interface()
	return tensor.New(tensor.WithShape(1), tensor.WithBacking(backing), tensor.WithEngine(e))
}

// EmptyShape reports whether d is an empty tensor and, if so, its shape.
func EmptyShape(d *tensor.Dense) ([]int, bool) {
	if d == nil {
		return nil, false
	}
	e, ok := d.Engine().(*emptyEngine)
	if !ok {
		return nil, false
	}
	return append([]int{}, e.shape...), true
}
