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

// func colsAVX512(k int, x, w *float32, ld int, acc *float32)
//
// acc[j] = sum_p x[p]*w[p*ld+j] for j < 64, summed in p order with the
// product rounded before the add (VMULPS then VADDPS, matching the Go loop
// that handles the remaining columns). This is one 64-column strip of a
// vector times a row-major matrix: w is read once, acc lives in Z0-Z3.
// AX = x, BX = current row of w, DX = ld in bytes, CX = rows left,
// Z4 = broadcast x[p], Z5-Z8 = x[p]*w[p, 0:64].
TEXT ·colsAVX512(SB), NOSPLIT, $0-40
	MOVQ k+0(FP), CX
	MOVQ x+8(FP), AX
	MOVQ w+16(FP), BX
	MOVQ ld+24(FP), DX
	SHLQ $2, DX
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	TESTQ CX, CX
	JZ   cols512_store
cols512_loop:
	VBROADCASTSS (AX), Z4
	VMULPS (BX), Z4, Z5
	VMULPS 64(BX), Z4, Z6
	VMULPS 128(BX), Z4, Z7
	VMULPS 192(BX), Z4, Z8
	VADDPS Z5, Z0, Z0
	VADDPS Z6, Z1, Z1
	VADDPS Z7, Z2, Z2
	VADDPS Z8, Z3, Z3
	ADDQ $4, AX
	ADDQ DX, BX
	DECQ CX
	JNZ  cols512_loop
cols512_store:
	MOVQ acc+32(FP), DI
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	VZEROUPPER
	RET

// func colsAVX2(k int, x, w *float32, ld int, acc *float32)
//
// As colsAVX512 for a 32-column strip: acc in Y0-Y3, products in Y5-Y8.
TEXT ·colsAVX2(SB), NOSPLIT, $0-40
	MOVQ k+0(FP), CX
	MOVQ x+8(FP), AX
	MOVQ w+16(FP), BX
	MOVQ ld+24(FP), DX
	SHLQ $2, DX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	TESTQ CX, CX
	JZ   cols256_store
cols256_loop:
	VBROADCASTSS (AX), Y4
	VMULPS (BX), Y4, Y5
	VMULPS 32(BX), Y4, Y6
	VMULPS 64(BX), Y4, Y7
	VMULPS 96(BX), Y4, Y8
	VADDPS Y5, Y0, Y0
	VADDPS Y6, Y1, Y1
	VADDPS Y7, Y2, Y2
	VADDPS Y8, Y3, Y3
	ADDQ $4, AX
	ADDQ DX, BX
	DECQ CX
	JNZ  cols256_loop
cols256_store:
	MOVQ acc+32(FP), DI
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	VZEROUPPER
	RET

// func rowsAVX512(rows int, dst, src *float32, lds int, width int)
//
// Copies rows rows of width (16 or 32) floats from src (row stride lds
// floats) to dst (rows packed back to back): one packed-B sliver.
TEXT ·rowsAVX512(SB), NOSPLIT, $0-40
	MOVQ rows+0(FP), CX
	MOVQ dst+8(FP), DI
	MOVQ src+16(FP), SI
	MOVQ lds+24(FP), DX
	SHLQ $2, DX
	MOVQ width+32(FP), AX
	CMPQ AX, $16
	JEQ  rows16

rows32:
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	ADDQ    DX, SI
	ADDQ    $128, DI
	DECQ    CX
	JNZ     rows32
	VZEROUPPER
	RET

rows16:
	VMOVUPS (SI), Z0
	VMOVUPS Z0, (DI)
	ADDQ    DX, SI
	ADDQ    $64, DI
	DECQ    CX
	JNZ     rows16
	VZEROUPPER
	RET
