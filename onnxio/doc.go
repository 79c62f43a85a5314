// Package onnxio reads and writes ONNX models losslessly and gives typed
// access to tensor data.
//
// Loading and re-saving an unmodified model produces the same bytes: the
// protobuf types in onnxpb are generated from the proto2 schema (which keeps
// the unpacked encodings and explicit zeros that the ONNX C++ library writes)
// and every write uses deterministic marshalling. Tensors stored as external
// data keep their references unless SaveOptions ask for a new layout.
//
// onnxio never interprets the graph: it does not know what an operator
// computes, does not infer shapes and does not rewrite nodes. Validate only
// checks structure (names are defined before use, domains are imported,
// outputs are unique) so that later packages can rely on it. Interpretation
// belongs to the packages built on top (lower, calib).
package onnxio
