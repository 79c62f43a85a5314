//go:build amd64 && !purego

#include "textflag.h"

// Vector primitives for the matrix-vector paths (gemv.go). Both walk their
// slices in blocks of whole vector registers; the Go wrappers handle the
// ragged tail with the same arithmetic.

// func dotAVX512(n int, x, y *float32) float32
//
// Returns x·y for n a multiple of 16. Z0-Z3 hold four interleaved partial
// sums of 16 lanes (64 elements per iteration); a 16-element loop finishes
// into Z0; the result is (Z0+Z1)+(Z2+Z3), then halved down to one lane.
// AX = x, BX = y, CX = elements left.
TEXT ·dotAVX512(SB), NOSPLIT, $0-28
	MOVQ n+0(FP), CX
	MOVQ x+8(FP), AX
	MOVQ y+16(FP), BX
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
dot512_loop64:
	CMPQ CX, $64
	JLT  dot512_loop16
	VMOVUPS (AX), Z4
	VMOVUPS 64(AX), Z5
	VMOVUPS 128(AX), Z6
	VMOVUPS 192(AX), Z7
	VFMADD231PS (BX), Z4, Z0
	VFMADD231PS 64(BX), Z5, Z1
	VFMADD231PS 128(BX), Z6, Z2
	VFMADD231PS 192(BX), Z7, Z3
	ADDQ $256, AX
	ADDQ $256, BX
	SUBQ $64, CX
	JMP  dot512_loop64
dot512_loop16:
	CMPQ CX, $16
	JLT  dot512_reduce
	VMOVUPS (AX), Z4
	VFMADD231PS (BX), Z4, Z0
	ADDQ $64, AX
	ADDQ $64, BX
	SUBQ $16, CX
	JMP  dot512_loop16
dot512_reduce:
	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z2, Z0, Z0
	// 16 -> 8 -> 4 -> 2 -> 1 lanes.
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVHLPS X0, X0, X1
	VADDPS X1, X0, X0
	VMOVSHDUP X0, X1
	VADDSS X1, X0, X0
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func dotAVX2(n int, x, y *float32) float32
//
// As dotAVX512 with 8-lane YMM registers: Y0-Y3 are the partial sums (32
// elements per iteration), then an 8-element loop into Y0; n is a multiple of 8.
TEXT ·dotAVX2(SB), NOSPLIT, $0-28
	MOVQ n+0(FP), CX
	MOVQ x+8(FP), AX
	MOVQ y+16(FP), BX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
dot256_loop32:
	CMPQ CX, $32
	JLT  dot256_loop8
	VMOVUPS (AX), Y4
	VMOVUPS 32(AX), Y5
	VMOVUPS 64(AX), Y6
	VMOVUPS 96(AX), Y7
	VFMADD231PS (BX), Y4, Y0
	VFMADD231PS 32(BX), Y5, Y1
	VFMADD231PS 64(BX), Y6, Y2
	VFMADD231PS 96(BX), Y7, Y3
	ADDQ $128, AX
	ADDQ $128, BX
	SUBQ $32, CX
	JMP  dot256_loop32
dot256_loop8:
	CMPQ CX, $8
	JLT  dot256_reduce
	VMOVUPS (AX), Y4
	VFMADD231PS (BX), Y4, Y0
	ADDQ $32, AX
	ADDQ $32, BX
	SUBQ $8, CX
	JMP  dot256_loop8
dot256_reduce:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVHLPS X0, X0, X1
	VADDPS X1, X0, X0
	VMOVSHDUP X0, X1
	VADDSS X1, X0, X0
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func axpyAVX2(n int, alpha float32, x, acc *float32)
//
// acc[i] += alpha*x[i] for n a multiple of 32, rounding the product before
// the add (VMULPS then VADDPS, no FMA) so that it matches the Go tail loop
// bit for bit: which elements fall in the tail depends on how the caller
// split the output, and results must not. Y15 = alpha; Y0-Y3 = four blocks of
// x scaled, added to acc in place. AX = x, BX = acc, CX = elements left.
TEXT ·axpyAVX2(SB), NOSPLIT, $0-32
	MOVQ n+0(FP), CX
	VBROADCASTSS alpha+8(FP), Y15
	MOVQ x+16(FP), AX
	MOVQ acc+24(FP), BX
axpy256_loop:
	CMPQ CX, $32
	JLT  axpy256_done
	VMULPS (AX), Y15, Y0
	VMULPS 32(AX), Y15, Y1
	VMULPS 64(AX), Y15, Y2
	VMULPS 96(AX), Y15, Y3
	VADDPS (BX), Y0, Y0
	VADDPS 32(BX), Y1, Y1
	VADDPS 64(BX), Y2, Y2
	VADDPS 96(BX), Y3, Y3
	VMOVUPS Y0, (BX)
	VMOVUPS Y1, 32(BX)
	VMOVUPS Y2, 64(BX)
	VMOVUPS Y3, 96(BX)
	ADDQ $128, AX
	ADDQ $128, BX
	SUBQ $32, CX
	JMP  axpy256_loop
axpy256_done:
	VZEROUPPER
	RET
