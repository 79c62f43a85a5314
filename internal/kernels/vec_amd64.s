//go:build amd64 && !purego

#include "textflag.h"

// func clipAVX(out, s *float32, n int, lo, hi float32)
//
// out[i] = min(hi, max(lo, s[i])) for n a positive multiple of 32, with
// the bound as the first source of VMAXPS/VMINPS: the result is the bound
// only when the comparison (lo > v, hi < t) holds, otherwise the value.
TEXT ·clipAVX(SB), NOSPLIT, $0-32
	MOVQ         out+0(FP), DI
	MOVQ         s+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS lo+24(FP), Y0
	VBROADCASTSS hi+28(FP), Y1

clipLoop:
	VMAXPS  (SI), Y0, Y2
	VMAXPS  32(SI), Y0, Y3
	VMAXPS  64(SI), Y0, Y4
	VMAXPS  96(SI), Y0, Y5
	VMINPS  Y2, Y1, Y2
	VMINPS  Y3, Y1, Y3
	VMINPS  Y4, Y1, Y4
	VMINPS  Y5, Y1, Y5
	VMOVUPS Y2, (DI)
	VMOVUPS Y3, 32(DI)
	VMOVUPS Y4, 64(DI)
	VMOVUPS Y5, 96(DI)
	ADDQ    $128, SI
	ADDQ    $128, DI
	SUBQ    $32, CX
	JNZ     clipLoop
	VZEROUPPER
	RET

// func reluAVX(out, s *float32, n int)
//
// out[i] = s[i] > 0 ? s[i] : +0 for n a positive multiple of 32: VMAXPS
// with the value as the first source returns the second (+0) unless
// value > 0, so negatives, zeros of both signs and NaN give +0.
TEXT ·reluAVX(SB), NOSPLIT, $0-24
	MOVQ   out+0(FP), DI
	MOVQ   s+8(FP), SI
	MOVQ   n+16(FP), CX
	VXORPS Y0, Y0, Y0

reluLoop:
	VMOVUPS (SI), Y2
	VMOVUPS 32(SI), Y3
	VMOVUPS 64(SI), Y4
	VMOVUPS 96(SI), Y5
	VMAXPS  Y0, Y2, Y2
	VMAXPS  Y0, Y3, Y3
	VMAXPS  Y0, Y4, Y4
	VMAXPS  Y0, Y5, Y5
	VMOVUPS Y2, (DI)
	VMOVUPS Y3, 32(DI)
	VMOVUPS Y4, 64(DI)
	VMOVUPS Y5, 96(DI)
	ADDQ    $128, SI
	ADDQ    $128, DI
	SUBQ    $32, CX
	JNZ     reluLoop
	VZEROUPPER
	RET
