// Package interp executes a lowered GraphModule in float32 (and the integer
// and bool types shape arithmetic needs) on gorgonia.org/tensor values, so
// calibration can observe every intermediate tensor without ONNX Runtime.
//
// New does all the per-model work once: it materializes initializers and
// Constant values, decodes every node's attributes for its opset version into
// a kernel closure (Softmax before and from opset 13, Reduce* axes as
// attribute or input, Split/Squeeze/Unsqueeze/Clip/Pad/Slice forms, ...),
// plans If/Loop/Scan bodies as nested plans, and works out after which node
// each intermediate value can be dropped. Every node without a kernel is
// reported at once in an *UnsupportedOpError. Run then only moves tensors
// between slots and calls kernels, so one Interpreter serves many goroutines
// at once (one Run per calibration goroutine).
//
// Reshape, Flatten, Squeeze and Unsqueeze share their input's memory:
// tensors are never written after a kernel returns them, which also means an
// Observer must not modify what it is handed.
//
// The dead values of Runs with no observer, or one that promises not to keep
// tensors (NonRetaining), give their memory back to a per-Run buffer pool
// that the hot kernels (Conv, Clip, Relu, Add, MaxPool, ...) write into,
// and the pools are cached between Runs: fresh multi-megabyte outputs
// otherwise cost more in first-touch page faults than cheap ops compute.
// A buffer is reused only when no live value overlaps its memory, so views
// and the Run's outputs are never overwritten.
//
// Convolutions run as im2col + GEMM, except 3x3 stride-1 layers where
// Winograd's F(2x2, 3x3) does less work (all of ResNet-18's): those sum in
// another order, so their results differ from im2col's in the last bits
// (ResNet-18's logits stay within 1e-6 relative L2 of ONNX Runtime; the
// corpus tests hold every model to 1e-4). No result depends on the number
// of workers.
//
// interp never changes the graph and never quantizes; the kernels live in
// internal/kernels. docs/node-tests.md lists, per op, how much of the ONNX node
// test suite the interpreter passes.
package interp
