// Package kernels holds the op kernels of the float calibration interpreter.
//
// Every kernel is a plain Go function over *tensor.Dense values (gorgonia.org/tensor)
// with its ONNX attributes spelled out as explicit Go parameters. The package knows
// nothing about ONNX protos or graphs: mapping a node's attributes and opset to these
// parameters is the interpreter's job. Kernels never mutate their inputs, always return
// freshly allocated, contiguous outputs, and report bad shapes or unsupported
// parameters as errors (a *ShapeError when the operands do not fit), never by panicking.
//
// gorgonia.org/tensor has no broadcasting and only 2-D MatMul, so broadcasting,
// batched MatMul, convolution and the rest are written here, working directly on the
// backing slices (never per-element At/Set calls) because calibration speed matters.
// gorgonia also cannot hold zero-element tensors; those are represented by Empty
// (see empty.go), which Dims, Flat and New understand.
package kernels
