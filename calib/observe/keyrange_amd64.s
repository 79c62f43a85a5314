//go:build amd64 && !purego

#include "textflag.h"

// func keyRangeAVX2(p *int32, n int, lo, hi *[8]int32)
//
// Folds the order keys (see orderKey) of the n float bits at p, n a
// positive multiple of 32, into eight lanes of minima and maxima. A key is
// b ^ ((b >>arith 31) >>logical 1). Y0-Y3 hold minima and Y4-Y7 maxima of
// four interleaved 8-lane streams, merged at the end.
// AX = p, CX = elements left.
TEXT ·keyRangeAVX2(SB), NOSPLIT, $0-32
	MOVQ p+0(FP), AX
	MOVQ n+8(FP), CX
	VMOVDQU (AX), Y8
	VPSRAD  $31, Y8, Y9
	VPSRLD  $1, Y9, Y9
	VPXOR   Y9, Y8, Y8
	VMOVDQA Y8, Y0
	VMOVDQA Y8, Y1
	VMOVDQA Y8, Y2
	VMOVDQA Y8, Y3
	VMOVDQA Y8, Y4
	VMOVDQA Y8, Y5
	VMOVDQA Y8, Y6
	VMOVDQA Y8, Y7

loop:
	VMOVDQU (AX), Y8
	VMOVDQU 32(AX), Y10
	VMOVDQU 64(AX), Y12
	VMOVDQU 96(AX), Y14
	VPSRAD  $31, Y8, Y9
	VPSRAD  $31, Y10, Y11
	VPSRAD  $31, Y12, Y13
	VPSRAD  $31, Y14, Y15
	VPSRLD  $1, Y9, Y9
	VPSRLD  $1, Y11, Y11
	VPSRLD  $1, Y13, Y13
	VPSRLD  $1, Y15, Y15
	VPXOR   Y9, Y8, Y8
	VPXOR   Y11, Y10, Y10
	VPXOR   Y13, Y12, Y12
	VPXOR   Y15, Y14, Y14
	VPMINSD Y8, Y0, Y0
	VPMINSD Y10, Y1, Y1
	VPMINSD Y12, Y2, Y2
	VPMINSD Y14, Y3, Y3
	VPMAXSD Y8, Y4, Y4
	VPMAXSD Y10, Y5, Y5
	VPMAXSD Y12, Y6, Y6
	VPMAXSD Y14, Y7, Y7
	ADDQ    $128, AX
	SUBQ    $32, CX
	JNZ     loop

	VPMINSD Y1, Y0, Y0
	VPMINSD Y3, Y2, Y2
	VPMINSD Y2, Y0, Y0
	VPMAXSD Y5, Y4, Y4
	VPMAXSD Y7, Y6, Y6
	VPMAXSD Y6, Y4, Y4
	MOVQ    lo+16(FP), DX
	VMOVDQU Y0, (DX)
	MOVQ    hi+24(FP), DX
	VMOVDQU Y4, (DX)
	VZEROUPPER
	RET
