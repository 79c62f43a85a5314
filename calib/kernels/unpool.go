package kernels

import (
	"fmt"

	"gorgonia.org/tensor"
)

// MaxUnpool scatters x into a zero tensor at the flat positions in
// indices (MaxPool's second output); nil strides and pads are 1 and 0.
func MaxUnpool(x, indices *tensor.Dense, kernel, strides, pads []int) (*tensor.Dense, error) {
	sh := Dims(x)
	nsp := len(sh) - 2
	if nsp < 1 || len(kernel) != nsp {
		return nil, fmt.Errorf("kernel_shape %v does not fit input %v", kernel, sh)
	}
	osh := append([]int(nil), sh[:2]...)
	for i := 0; i < nsp; i++ {
		st, pb, pe := 1, 0, 0
		if strides != nil {
			st = strides[i]
		}
		if pads != nil {
			pb, pe = pads[i], pads[i+nsp]
		}
		osh = append(osh, (sh[2+i]-1)*st+kernel[i]-pb-pe)
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
	return New(osh, out)
}
