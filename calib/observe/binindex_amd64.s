//go:build amd64 && !purego

#include "textflag.h"

// func binIndexAVX2(p *float32, n int, scale float64, off int32, idx *int32)
//
// Writes idx[i] = int32(floor(float64(p[i]) * scale)) - off for the n
// values at p, n a positive multiple of 8: bin's cell rule, eight values a
// step. The product is exact (scale is a power of two) and the caller
// guarantees every cell index fits an int32, so each result is the scalar
// loop's. AX = p, CX = values left, DI = idx.
TEXT ·binIndexAVX2(SB), NOSPLIT, $0-40
	MOVQ         p+0(FP), AX
	MOVQ         n+8(FP), CX
	VBROADCASTSD scale+16(FP), Y15
	MOVL         off+24(FP), DX
	VMOVD        DX, X14
	VPBROADCASTD X14, X14
	MOVQ         idx+32(FP), DI

loop:
	VCVTPS2PD   (AX), Y0
	VCVTPS2PD   16(AX), Y1
	VMULPD      Y15, Y0, Y0
	VMULPD      Y15, Y1, Y1
	VROUNDPD    $9, Y0, Y0 // toward -Inf, no precision exception
	VROUNDPD    $9, Y1, Y1
	VCVTTPD2DQY Y0, X0
	VCVTTPD2DQY Y1, X1
	VPSUBD      X14, X0, X0
	VPSUBD      X14, X1, X1
	VMOVDQU     X0, (DI)
	VMOVDQU     X1, 16(DI)
	ADDQ        $32, AX
	ADDQ        $32, DI
	SUBQ        $8, CX
	JNZ         loop
	VZEROUPPER
	RET
