package dataset

import (
	"fmt"
	"strings"
)

// The batch axis of an input is the axis along which a stacked array holds
// several samples, which OpenSamples splits into samples of batch 1. The
// model's declaration decides it, in this order:
//
//  1. a dynamic dimension named as a batch (dim_param "batch", "batch_size",
//     "N", "bs", or any name containing "batch"), when exactly one is;
//  2. otherwise the dimensions the model declares as 1: the one on which
//     the array is larger is the batch axis ([T, 1, F] stacks on axis 1,
//     [1, 3, H, W] on axis 0); an array larger on two of them is
//     ambiguous and refused; an array larger on none is one sample;
//  3. otherwise the first axis, when it is dynamic ([N, 3, H, W]).
//
// An input of rank below 2, or whose first axis is fixed above 1 with no
// dimension declared 1 or named as a batch, has no batch axis: the model
// takes its samples whole, and no sample of that model is split.

// batchNamed reports whether a dim_param names a batch dimension.
func batchNamed(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "n", "b", "bs", "batch", "batch_size", "batchsize", "nbatch", "num_batches":
		return true
	}
	return strings.Contains(n, "batch")
}

// batchAxes are the candidate batch axes of spec and which rule gives
// them (see above); ok is false when the input has no batch axis.
func (spec InputSpec) batchAxes() (named, ones []int, first, ok bool) {
	if len(spec.Shape) < 2 {
		return nil, nil, false, false
	}
	for i, d := range spec.Shape {
		if isDynamic(d) && i < len(spec.DimNames) && batchNamed(spec.DimNames[i]) {
			named = append(named, i)
		}
		if d == 1 {
			ones = append(ones, i)
		}
	}
	if len(named) == 1 {
		return named, nil, false, true
	}
	if len(ones) > 0 {
		return nil, ones, false, true
	}
	return nil, nil, isDynamic(spec.Shape[0]), isDynamic(spec.Shape[0])
}

// splittable reports whether the input has a batch axis at all.
func (spec InputSpec) splittable() bool {
	_, _, _, ok := spec.batchAxes()
	return ok
}

// stackAxis returns the batch axis of spec for an array of the given shape
// and how many samples the array stacks on it (1 for one sample; axis is
// then -1 when it does not matter). An array larger than 1 on more than
// one axis the model declares as 1 is an ErrShapeMismatch error: which of
// them is the batch is ambiguous.
func (spec InputSpec) stackAxis(shape []int) (axis, n int, err error) {
	named, ones, first, ok := spec.batchAxes()
	if !ok || len(shape) != len(spec.Shape) {
		return -1, 1, nil // Load reports a rank mismatch
	}
	switch {
	case len(named) == 1:
		return named[0], shape[named[0]], nil
	case len(ones) > 0:
		var larger []int
		for _, i := range ones {
			if shape[i] > 1 {
				larger = append(larger, i)
			}
		}
		switch len(larger) {
		case 0:
			return -1, 1, nil
		case 1:
			return larger[0], shape[larger[0]], nil
		}
		axes := make([]string, len(larger))
		for i, a := range larger {
			axes[i] = fmt.Sprint(a)
		}
		return -1, 0, kindf(ErrShapeMismatch,
			"array of shape %v is larger than the model's %s on axes %s, which the model all declares as 1: which one stacks samples is ambiguous, so it is not split; give samples of the model's shape (or one stacked on a single axis)",
			shape, spec.modelShape(), strings.Join(axes, " and "))
	case first:
		return 0, shape[0], nil
	}
	return -1, 1, nil
}
