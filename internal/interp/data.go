package interp

import (
	"fmt"

	"github.com/onnxquant/onnxquant/internal/kernels"
	"gorgonia.org/tensor"
)

// flat returns t's elements as a row-major slice; see kernels.Flat.
func flat(t *tensor.Dense) any { return kernels.Flat(t) }

// concatFlat joins slices of one element type.
func concatFlat(parts []any) (any, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("nothing to concatenate")
	}
	switch parts[0].(type) {
	case []float32:
		return joinT[float32](parts)
	case []float64:
		return joinT[float64](parts)
	case []int64:
		return joinT[int64](parts)
	case []int32:
		return joinT[int32](parts)
	case []int16:
		return joinT[int16](parts)
	case []int8:
		return joinT[int8](parts)
	case []uint8:
		return joinT[uint8](parts)
	case []uint16:
		return joinT[uint16](parts)
	case []uint32:
		return joinT[uint32](parts)
	case []uint64:
		return joinT[uint64](parts)
	case []bool:
		return joinT[bool](parts)
	}
	return nil, fmt.Errorf("unsupported element type %T", parts[0])
}

func joinT[T any](parts []any) (any, error) {
	n := 0
	for _, p := range parts {
		s, ok := p.([]T)
		if !ok {
			return nil, fmt.Errorf("mixed element types %T and %T", parts[0], p)
		}
		n += len(s)
	}
	out := make([]T, 0, n)
	for _, p := range parts {
		out = append(out, p.([]T)...)
	}
	return out, nil
}

// subFlat returns s[lo:hi] for any supported slice type.
func subFlat(s any, lo, hi int) any {
	switch v := s.(type) {
	case []float32:
		return v[lo:hi]
	case []float64:
		return v[lo:hi]
	case []int64:
		return v[lo:hi]
	case []int32:
		return v[lo:hi]
	case []int16:
		return v[lo:hi]
	case []int8:
		return v[lo:hi]
	case []uint8:
		return v[lo:hi]
	case []uint16:
		return v[lo:hi]
	case []uint32:
		return v[lo:hi]
	case []uint64:
		return v[lo:hi]
	case []bool:
		return v[lo:hi]
	}
	return nil
}

// stack joins same-shaped tensors along a new leading axis.
func stack(ts []*tensor.Dense) (*tensor.Dense, error) {
	if len(ts) == 0 {
		return nil, fmt.Errorf("no tensors to stack (zero iterations give an empty result)")
	}
	shape := dims(ts[0])
	parts := make([]any, len(ts))
	for i, t := range ts {
		if !tensor.Shape(dims(t)).Eq(tensor.Shape(shape)) {
			return nil, fmt.Errorf("iteration %d has shape %v, iteration 0 had %v", i, dims(t), shape)
		}
		parts[i] = flat(t)
	}
	data, err := concatFlat(parts)
	if err != nil {
		return nil, err
	}
	return newDense(append([]int{len(ts)}, shape...), data)
}

// unstackAt returns slice i of t along axis 0, as a tensor of the remaining
// dims sharing t's memory.
func unstackAt(t *tensor.Dense, i int) (*tensor.Dense, error) {
	shape := dims(t)
	if len(shape) == 0 || i >= shape[0] {
		return nil, fmt.Errorf("cannot take slice %d of shape %v", i, shape)
	}
	inner := 1
	for _, d := range shape[1:] {
		inner *= d
	}
	return newDense(append([]int(nil), shape[1:]...), subFlat(flat(t), i*inner, (i+1)*inner))
}

func scalarInt(v int64) *tensor.Dense {
	return tensor.New(tensor.WithShape(), tensor.WithBacking([]int64{v}))
}

func scalarBool(b bool) *tensor.Dense {
	return tensor.New(tensor.WithShape(), tensor.WithBacking([]bool{b}))
}

// truth reads a one-element bool (or numeric) condition.
func truth(t *tensor.Dense) (bool, error) {
	if t == nil {
		return false, fmt.Errorf("missing condition")
	}
	if kernels.NumElems(t) != 1 {
		return false, fmt.Errorf("condition has shape %v, want one element", dims(t))
	}
	if b, ok := flat(t).([]bool); ok {
		return b[0], nil
	}
	f, err := scalarFloat(t)
	return f != 0, err
}
