package kernels

// Alloc supplies the float32 output buffer of a kernel: it returns a slice
// of exactly n elements whose contents are unspecified (a recycled buffer
// holds an earlier tensor's values). Kernels taking an Alloc write every
// element of the buffer before returning, so the result does not depend on
// what it held. A nil Alloc means a fresh make.
//
// It exists for the interpreter's buffer reuse: a fresh multi-megabyte
// slice costs a page fault per 4 KiB page on first touch, which on
// convolutional networks costs more than the arithmetic of cheap ops.
type Alloc func(n int) []float32

// f32 returns n float32s from a, or freshly made ones when a is nil.
func (a Alloc) f32(n int) []float32 {
	if a == nil {
		return make([]float32, n)
	}
	return a(n)
}

// allocT is Alloc for generic kernels: float32 buffers come from a, every
// other element type is made fresh (and zeroed).
func allocT[T any](a Alloc, n int) []T {
	var z T
	if _, isF32 := any(z).(float32); isF32 && a != nil {
		return any(a(n)).([]T)
	}
	return make([]T, n)
}
