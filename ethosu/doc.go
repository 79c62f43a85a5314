// Package ethosu is the Arm Ethos-U side of onnxquant: compile specs for
// the U55, U65 and U85 targets and their Limits, the EthosUQuantizer facade
// that mirrors ExecuTorch's API over the quantize package's stage table,
// the Target that pipeline sees, and the legality rules (Rules, a named
// table) that decide whether a quantized model can run on the NPU.
//
// Partial quantization is not supported on Ethos-U: a float compute node
// left anywhere, or a node that breaks a rule of the target, fails the
// whole quantization with one error that lists every such node.
package ethosu
