// Package tflite writes the quantized (QDQ ONNX) graph that onnxquant
// produces as a TensorFlow Lite flatbuffer that Arm's Vela compiler maps onto
// an Ethos-U NPU, and reads such flatbuffers back for checking.
//
// It is a back end, not a second quantizer: every scale and zero point in
// the TFLite file is the one the QDQ model carries. The exporter moves
// activations from ONNX's NCHW to TFLite's NHWC once, at the graph inputs,
// maps each quantized ONNX node to TFLite builtins, folds Relu and Clip into
// the producing operator where the output qparams allow it, and refuses what
// Vela would leave on the CPU (see Check) before anything is written.
//
// The flatbuffer tables are built with the github.com/google/flatbuffers/go
// runtime and the package's own table layouts (schema.go), a subset of the
// published TFLite schema (version 3, identifier "TFL3").
package tflite
