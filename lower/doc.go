// Package lower holds the FX-equivalent graph of an ONNX model: a GraphModule
// with a Graph of Nodes and its control-flow bodies as named conditional
// submodules (If_0.then_branch, Loop_0.body, ...).
//
// Each node records what a quantizer needs to decide how to treat it: its op
// kind, its target (domain, op type, opset version), its inputs and users, and
// meta data (dtype and shape of its outputs, the module stack it came from,
// the source ONNX node name). Values captured by a body from an enclosing
// graph are explicit, both as capture placeholders in the body and as
// Captures of the node that owns the body, so rewrites see every use.
//
// lower never quantizes and never interprets tensors beyond what shape
// arithmetic needs; Raise turns a GraphModule back into an ONNX model with
// the same semantics, names, opsets and metadata.
package lower
