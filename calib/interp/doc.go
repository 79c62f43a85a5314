// Package interp executes a lowered GraphModule in float32 (and the integer
// and bool types shape arithmetic needs) on gorgonia.org/tensor values, so
// calibration can observe every intermediate tensor without ONNX Runtime.
//
// New does all the per-model work once: it materializes initializers and
// Constant values, decodes every node's attributes for its opset version into
// a kernel closure, and works out when each intermediate value can be freed.
// Run then only moves tensors between slots and calls kernels, so one
// Interpreter can serve many goroutines at once.
//
// interp never changes the graph and never quantizes; the kernels themselves
// live in calib/kernels.
package interp
