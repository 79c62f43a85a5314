//go:build amd64 && !purego

#include "textflag.h"
#include "lanes_amd64.h"

// TAP adds w*x to the accumulator Z20: a product rounded on its own, then
// the sum, as the scalar loop does.
#define TAP(w, x)        \
	VMULPS w, x, Z13;    \
	VADDPS Z13, Z20, Z20

// TAPS1 loads the three taps of a stride-1 row at p through K1 and adds
// them with weights w0..w2.
#define TAPS1(p, w0, w1, w2)      \
	VMOVUPS.Z (p), K1, Z10;      \
	VMOVUPS.Z 4(p), K1, Z11;     \
	VMOVUPS.Z 8(p), K1, Z12;     \
	TAP(w0, Z10);                \
	TAP(w1, Z11);                \
	TAP(w2, Z12)

// TAPS2 loads the three taps of a stride-2 row at p (x[2t], x[2t+1],
// x[2t+2]) through the masks K2-K5 and adds them with weights w0..w2.
#define TAPS2(p, w0, w1, w2)      \
	VMOVUPS.Z (p), K2, Z14;      \
	VMOVUPS.Z 64(p), K3, Z15;    \
	VMOVAPS   Z30, Z10;          \
	VPERMI2PS Z15, Z14, Z10;     \
	VMOVAPS   Z31, Z11;          \
	VPERMI2PS Z15, Z14, Z11;     \
	VMOVUPS.Z 8(p), K4, Z14;     \
	VMOVUPS.Z 72(p), K5, Z15;    \
	VMOVAPS   Z30, Z12;          \
	VPERMI2PS Z15, Z14, Z12;     \
	TAP(w0, Z10);                \
	TAP(w1, Z11);                \
	TAP(w2, Z12)

// func dw3x3RowAVX512(r0, r1, r2, out *float32, n int, w *float32, b float32, stride, rows int)
//
// out[t] = b + w0*r0[s*t] + w1*r0[s*t+1] + ... + w8*r2[s*t+2] for t < n,
// summed left to right, with stride s 1 or 2, leaving out the input rows
// whose bit (1 << k for rk) is clear in rows; every load is masked to the
// elements the n outputs read.
TEXT ·dw3x3RowAVX512(SB), NOSPLIT, $0-72
	MOVQ         r0+0(FP), SI
	MOVQ         r1+8(FP), R8
	MOVQ         r2+16(FP), R9
	MOVQ         out+24(FP), DI
	MOVQ         n+32(FP), BX
	MOVQ         w+40(FP), DX
	VBROADCASTSS b+48(FP), Z9
	MOVQ         stride+56(FP), R10
	MOVQ         rows+64(FP), R13
	VBROADCASTSS 0(DX), Z0
	VBROADCASTSS 4(DX), Z1
	VBROADCASTSS 8(DX), Z2
	VBROADCASTSS 12(DX), Z3
	VBROADCASTSS 16(DX), Z4
	VBROADCASTSS 20(DX), Z5
	VBROADCASTSS 24(DX), Z6
	VBROADCASTSS 28(DX), Z7
	VBROADCASTSS 32(DX), Z8
	VMOVUPS      ·permEven(SB), Z30
	VMOVUPS      ·permOdd(SB), Z31
	CMPQ         R10, $2
	JEQ          s2Block

s1Block:
	MOVQ    BX, CX
	LANEMASK(DX, K1)
	VMOVAPS Z9, Z20
	BTQ     $0, R13
	JCC     s1Row1
	TAPS1(SI, Z0, Z1, Z2)

s1Row1:
	BTQ $1, R13
	JCC s1Row2
	TAPS1(R8, Z3, Z4, Z5)

s1Row2:
	BTQ $2, R13
	JCC s1Store
	TAPS1(R9, Z6, Z7, Z8)

s1Store:
	VMOVUPS Z20, K1, (DI)
	ADDQ    $64, SI
	ADDQ    $64, R8
	ADDQ    $64, R9
	ADDQ    $64, DI
	SUBQ    $16, BX
	JG      s1Block
	VZEROUPPER
	RET

s2Block:
	BLOCK16(BX, R11, DX)
	STRIDE2MASKS(DX)
	VMOVAPS Z9, Z20
	BTQ     $0, R13
	JCC     s2Row1
	TAPS2(SI, Z0, Z1, Z2)

s2Row1:
	BTQ $1, R13
	JCC s2Row2
	TAPS2(R8, Z3, Z4, Z5)

s2Row2:
	BTQ $2, R13
	JCC s2Store
	TAPS2(R9, Z6, Z7, Z8)

s2Store:
	VMOVUPS Z20, K1, (DI)
	ADDQ    $128, SI
	ADDQ    $128, R8
	ADDQ    $128, R9
	ADDQ    $64, DI
	SUBQ    $16, BX
	JG      s2Block
	VZEROUPPER
	RET
