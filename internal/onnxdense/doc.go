// Package onnxdense converts between ONNX TensorProtos and the gorgonia
// Dense tensors the interpreter and the sample readers compute on, with the
// one table of ONNX data types and the element types that hold them, and
// the placeholder that stands for tensors with no elements.
//
// It is internal so that gorgonia's types stay out of the public API:
// onnxio reads and writes ONNX values without it.
package onnxdense
