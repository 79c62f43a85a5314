package interp

import (
	"fmt"
	"maps"
	"slices"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/kernels"
)

// opBuilder decodes a node's attributes (and constant shape-like inputs)
// once, at New, and returns the kernel that runs it.
type opBuilder func(c *buildCtx) (kernel, error)

// opTable maps default-domain op types to their builders. It is a function,
// not a package variable, because the control-flow builders reach back into
// plan building, which would make a variable an initialization cycle.
func opTable() map[string]opBuilder {
	t := map[string]opBuilder{}
	for _, f := range []func(map[string]opBuilder){
		elementwiseOps, activationOps, mathOps, viewOps, movementOps, scatterOps, matrixOps, nnOps, reduceOps, normalizationOps, dropoutOps, quantOps, controlOps, recurrentOps, resizeOps, lossOps, integerOps, signalOps, linalgOps, uniqueOps, gridSampleOps, textOps,
	} {
		f(t)
	}
	return t
}

// SupportedOps lists the default-domain op types the interpreter has a
// kernel for, sorted.
func SupportedOps() []string {
	return slices.Sorted(maps.Keys(opTable()))
}

// one wraps a single-result function as a kernel output list.
func one(t *tensor.Dense, err error) ([]*tensor.Dense, error) {
	if err != nil {
		return nil, err
	}
	return []*tensor.Dense{t}, nil
}

// unary makes a builder for a one-input, attribute-free kernel.
func unary(f func(*tensor.Dense) (*tensor.Dense, error)) opBuilder {
	return func(c *buildCtx) (kernel, error) {
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(f(in[0]))
		}, nil
	}
}

// unaryAlloc is unary for kernels that take the frame's output allocator.
func unaryAlloc(f func(kernels.Alloc, *tensor.Dense) (*tensor.Dense, error)) opBuilder {
	return func(c *buildCtx) (kernel, error) {
		return func(_ *runCtx, fr *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(f(fr.alloc, in[0]))
		}, nil
	}
}

// binary makes a builder for a two-input, attribute-free kernel.
func binary(f func(a, b *tensor.Dense) (*tensor.Dense, error)) opBuilder {
	return binaryAlloc(func(_ kernels.Alloc, a, b *tensor.Dense) (*tensor.Dense, error) { return f(a, b) })
}

// binaryAlloc is binary for kernels that take the frame's output allocator.
func binaryAlloc(f func(alloc kernels.Alloc, a, b *tensor.Dense) (*tensor.Dense, error)) opBuilder {
	return func(c *buildCtx) (kernel, error) {
		if c.n.Target.Version < 7 && c.n.AttrInt("broadcast", 0) != 0 && c.n.HasAttr("axis") {
			return nil, unsupportedf("legacy broadcast with axis")
		}
		return func(_ *runCtx, fr *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			if len(in) < 2 {
				return nil, fmt.Errorf("needs 2 inputs, got %d", len(in))
			}
			return one(f(fr.alloc, in[0], in[1]))
		}, nil
	}
}

// variadic makes a builder for Sum/Max/Min/Mean style kernels.
func variadic(f func(xs ...*tensor.Dense) (*tensor.Dense, error)) opBuilder {
	return func(c *buildCtx) (kernel, error) {
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(f(in...))
		}, nil
	}
}

// requireInputs checks the count of non-omitted leading inputs at New.
func (c *buildCtx) requireInputs(n int) error {
	if len(c.n.Inputs) < n {
		return fmt.Errorf("needs %d inputs, has %d", n, len(c.n.Inputs))
	}
	for i := 0; i < n; i++ {
		if c.n.Inputs[i] == nil {
			return fmt.Errorf("input %d is required", i)
		}
	}
	return nil
}
