package kernels

import (
	"reflect"

	"gorgonia.org/tensor"
)

// gorgonia.org/tensor cannot hold a tensor with no elements (its Dense
// points at element 0), yet exporters write them everywhere: Resize's unused
// roi, Slice and Concat results in shape arithmetic, ReduceX's empty axes.
// An empty tensor is therefore a one-element Dense of the right element type
// whose engine is an emptyEngine recording the real shape. Dims and Flat
// (and so every kernel that goes through them) see the real shape and a
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

// Empty returns a tensor of the given shape, which must have a zero
// dimension, and element type.
func Empty(shape []int, dt tensor.Dtype) *tensor.Dense {
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

// IsEmpty reports whether d has no elements.
func IsEmpty(d *tensor.Dense) bool {
	_, ok := EmptyShape(d)
	return ok
}

// NumElems is d's element count (0 for an empty tensor).
func NumElems(d *tensor.Dense) int {
	if IsEmpty(d) {
		return 0
	}
	return d.Shape().TotalSize()
}

// dtypeOfSlice is the element type of a backing slice.
func dtypeOfSlice(data any) (tensor.Dtype, bool) {
	switch data.(type) {
	case []float32:
		return tensor.Float32, true
	case []float64:
		return tensor.Float64, true
	case []int64:
		return tensor.Int64, true
	case []int32:
		return tensor.Int32, true
	case []int16:
		return tensor.Int16, true
	case []int8:
		return tensor.Int8, true
	case []uint8:
		return tensor.Uint8, true
	case []uint16:
		return tensor.Uint16, true
	case []uint32:
		return tensor.Uint32, true
	case []uint64:
		return tensor.Uint64, true
	case []bool:
		return tensor.Bool, true
	}
	return tensor.Dtype{}, false
}
