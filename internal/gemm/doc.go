// Package gemm is a single-precision matrix multiply (BLAS sgemm semantics,
// row-major) for the calibration interpreter's Conv (im2col), MatMul and Gemm
// kernels.
//
// It follows the usual Goto/BLIS structure: op(A) and op(B) are copied
// ("packed") block by block into contiguous panels sized for the caches, and a
// small register-blocked micro-kernel multiplies one panel pair into a tile of
// C. On amd64 the micro-kernel is assembly (AVX-512 or AVX2+FMA, chosen once at
// start-up from the CPU features); elsewhere, or with the build tag purego, a
// portable Go micro-kernel is used.
//
// Results are deterministic: every element of C is summed in float32 in an
// order that depends only on the matrix shapes (K is cut into fixed blocks of
// kc, and each block's dot products run in k order), never on the number of
// workers, because SgemmParallel splits only the output C between goroutines,
// along the micro-kernel's tile grid. Different micro-kernels (AVX-512, AVX2,
// Go) round differently, so results may differ in the last bits between
// machines or builds, though each matches a float64 reference to float32
// accuracy.
//
// An A operand that stays the same across calls (a layer's weights) can be
// packed once with PackA and multiplied with SgemmPacked, which skips the
// per-call packing of A and returns exactly Sgemm's bits. A B operand that is
// cheaper to generate than to store (a convolution's im2col matrix) can be
// handed to SgemmSource as a BPacker writing each block straight in packed form.
//
// The package does not allocate per call beyond pooled packing buffers, keeps
// no mutable global state except its sync.Pool, and never uses cgo.
package gemm

//go:generate go run gen_kernels.go
