package kernels

import (
	"fmt"

	"gorgonia.org/tensor"
)

// ReverseSequence reverses the first seqLens[b] steps along timeAxis of
// every batch entry b.
func ReverseSequence(x, lens *tensor.Dense, batchAxis, timeAxis int) (*tensor.Dense, error) {
	sh := Dims(x)
	l, err := Ints(lens)
	if err != nil {
		return nil, err
	}
	if len(sh) < 2 || batchAxis > 1 || timeAxis > 1 || batchAxis == timeAxis {
		return nil, fmt.Errorf("ReverseSequence needs batch and time axes 0 and 1, got %d and %d", batchAxis, timeAxis)
	}
	st := make([]int, len(sh))
	acc := 1
	for i := len(sh) - 1; i >= 0; i-- {
		st[i] = acc
		acc *= sh[i]
	}
	inner := prod(sh[2:])
	idx := make([]int, prod(sh))
	for i := range idx {
		idx[i] = i
	}
	for b := 0; b < sh[batchAxis] && b < len(l); b++ {
		for t := 0; t < l[b]; t++ {
			src := b*st[batchAxis] + (l[b]-1-t)*st[timeAxis]
			dst := b*st[batchAxis] + t*st[timeAxis]
			for i := 0; i < inner; i++ {
				idx[dst+i] = src + i
			}
		}
	}
	return gatherTo("ReverseSequence", x, sh, idx)
}
