//go:build !amd64 || purego

package gemm

// availableKernels lists the kernels this build can run: only the portable one.
func availableKernels() []microKernel {
	return []microKernel{goKernel}
}

// narrowKernelFor returns nil: the portable kernel is the only one.
func narrowKernelFor() *microKernel { return nil }
