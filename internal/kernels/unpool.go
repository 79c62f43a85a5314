package kernels

import (
	"fmt"
	"slices"

	"gorgonia.org/tensor"
)

// MaxUnpool scatters x into a zero tensor at the flat positions in
// indices (MaxPool's second output); nil steps (strides) and pads are 1
// and 0.
// outShape, when given (the output_shape input), is the output's shape:
// the indices still address the unpooled shape the window implies, which
// is then zero-padded at the end of each axis to outShape (restoring an
// odd-sized input that MaxPool rounded down).
func MaxUnpool(x, indices *tensor.Dense, kernel, steps, pads, outShape []int) (*tensor.Dense, error) {
	sh := Dims(x)
	nsp := len(sh) - 2
	if nsp < 1 || len(kernel) != nsp {
		return nil, fmt.Errorf("kernel_shape %v does not fit input %v", kernel, sh)
	}
	osh := append([]int(nil), sh[:2]...)
	for i := 0; i < nsp; i++ {
		st, pb, pe := 1, 0, 0
		if steps != nil {
			st = steps[i]
		}
		if pads != nil {
			pb, pe = pads[i], pads[i+nsp]
		}
		osh = append(osh, (sh[2+i]-1)*st+kernel[i]-pb-pe)
	}
	if outShape != nil && len(outShape) != len(osh) {
		return nil, fmt.Errorf("output_shape %v does not have the rank of input %v", outShape, sh)
	}
	xs, err := float64s(x)
	if err != nil {
		return nil, err
	}
	idx, err := Ints(indices)
	if err != nil {
		return nil, err
	}
	out := make([]float32, prod(osh))
	for i, j := range idx {
		if j < 0 || j >= len(out) {
			return nil, fmt.Errorf("index %d out of range for output %v", j, osh)
		}
		out[j] = float32(xs[i])
	}
	if outShape == nil || slices.Equal(outShape, osh) {
		return New(osh, out)
	}
	for i := range osh {
		if outShape[i] < osh[i] {
			return nil, fmt.Errorf("output_shape %v is smaller than the unpooled shape %v", outShape, osh)
		}
	}
	padded := make([]float32, prod(outShape))
	dst := strides(outShape)
	forEachIndex(osh, func(k int, ix []int) {
		at := 0
		for a, v := range ix {
			at += v * dst[a]
		}
		padded[at] = out[k]
	})
	return New(outShape, padded)
}
