package ethosu

// Limits are the numbers and capabilities of a target that its legality
// rules read (Vela 5.1's constraints, ../shared/docs/ethosu-ops.md). They
// are the only place the rules differ between U55/U65 and U85, so a rule
// never asks which family it runs for.
type Limits struct {
	// MaxRank is the largest tensor rank.
	MaxRank int
	// ConvKernelY and ConvKernelArea bound a 2-D convolution's kernel.
	ConvKernelY, ConvKernelArea int64
	// Conv3D: 3-D convolution is supported.
	Conv3D bool
	// ConvStrideWithPadding bounds a convolution's stride when it pads or
	// dilates.
	ConvStrideWithPadding int64
	// TransposeConvStride bounds a transposed convolution's stride.
	TransposeConvStride int64
	// PoolKernelY and PoolKernelArea bound a pooling window.
	PoolKernelY, PoolKernelArea int64
	// PaddedAvgPoolKernel bounds each side of a padded average pool.
	PaddedAvgPoolKernel int64
	// PoolStride bounds a pooling stride; 0 is no bound.
	PoolStride int64
	// Int16Tables: TABLE lookups (sigmoid, tanh, ...) have an int16 form.
	Int16Tables bool
	// Int16ActivationMatMul: MATMUL of two activations has an int16 form.
	Int16ActivationMatMul bool
	// NonConstantPad: reflect, edge and wrap padding (MIRROR_PAD).
	NonConstantPad bool
	// NonNearestResize: bilinear resizing.
	NonNearestResize bool
	// ReverseAnyAxis: REVERSE along N and C too, not only H and W.
	ReverseAnyAxis bool
	// ComputedGatherIndex: Gather with indices computed at run time.
	ComputedGatherIndex bool
	// ComparisonOps: comparisons, logical ops, Where, GatherElements/ND
	// and scatters.
	ComparisonOps bool
	// ControlFlowOnNPU: If/Loop and their condition arithmetic run on the
	// NPU (TOSA's control-flow extension) rather than on the host.
	ControlFlowOnNPU bool
}

// Limits returns the target's limits.
func (s CompileSpec) Limits() Limits {
	l := Limits{
		MaxRank:     6,
		ConvKernelY: 64, ConvKernelArea: 4096,
		ConvStrideWithPadding: 3,
		TransposeConvStride:   2,
		PoolKernelY:           256, PoolKernelArea: 65536,
		PaddedAvgPoolKernel: 8,
		PoolStride:          3,
	}
	if !s.U55Subset() {
		l.Conv3D = true
		l.PoolStride = 0
		l.Int16Tables = true
		l.Int16ActivationMatMul = true
		l.NonConstantPad = true
		l.NonNearestResize = true
		l.ReverseAnyAxis = true
		l.ComputedGatherIndex = true
		l.ComparisonOps = true
		l.ControlFlowOnNPU = true
	}
	return l
}
