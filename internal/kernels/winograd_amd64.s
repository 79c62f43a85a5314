//go:build amd64 && !purego

#include "textflag.h"
#include "lanes_amd64.h"

// Indices for VPERMI2PS interleaving a register pair (A, B): the two
// halves of A0 B0 A1 B1 ... (permEven and permOdd are in perm_amd64.s).
DATA winoZipLo<>+0(SB)/4, $0
DATA winoZipLo<>+4(SB)/4, $16
DATA winoZipLo<>+8(SB)/4, $1
DATA winoZipLo<>+12(SB)/4, $17
DATA winoZipLo<>+16(SB)/4, $2
DATA winoZipLo<>+20(SB)/4, $18
DATA winoZipLo<>+24(SB)/4, $3
DATA winoZipLo<>+28(SB)/4, $19
DATA winoZipLo<>+32(SB)/4, $4
DATA winoZipLo<>+36(SB)/4, $20
DATA winoZipLo<>+40(SB)/4, $5
DATA winoZipLo<>+44(SB)/4, $21
DATA winoZipLo<>+48(SB)/4, $6
DATA winoZipLo<>+52(SB)/4, $22
DATA winoZipLo<>+56(SB)/4, $7
DATA winoZipLo<>+60(SB)/4, $23
GLOBL winoZipLo<>(SB), RODATA|NOPTR, $64

DATA winoZipHi<>+0(SB)/4, $8
DATA winoZipHi<>+4(SB)/4, $24
DATA winoZipHi<>+8(SB)/4, $9
DATA winoZipHi<>+12(SB)/4, $25
DATA winoZipHi<>+16(SB)/4, $10
DATA winoZipHi<>+20(SB)/4, $26
DATA winoZipHi<>+24(SB)/4, $11
DATA winoZipHi<>+28(SB)/4, $27
DATA winoZipHi<>+32(SB)/4, $12
DATA winoZipHi<>+36(SB)/4, $28
DATA winoZipHi<>+40(SB)/4, $13
DATA winoZipHi<>+44(SB)/4, $29
DATA winoZipHi<>+48(SB)/4, $14
DATA winoZipHi<>+52(SB)/4, $30
DATA winoZipHi<>+56(SB)/4, $15
DATA winoZipHi<>+60(SB)/4, $31
GLOBL winoZipHi<>(SB), RODATA|NOPTR, $64

// LOADROW splits the 34 floats at p into the four patch columns of 16
// consecutive tiles: column j of tile t is p[2t+j].
#define LOADROW(p, c0, c1, c2, c3) \
	VMOVUPS   (p), Z16;            \
	VMOVAPS   Z30, c0;             \
	VPERMI2PS 64(p), Z16, c0;      \
	VMOVAPS   Z31, c1;             \
	VPERMI2PS 64(p), Z16, c1;      \
	VMOVUPS   8(p), Z17;           \
	VMOVAPS   Z30, c2;             \
	VPERMI2PS 72(p), Z17, c2;      \
	VMOVAPS   Z31, c3;             \
	VPERMI2PS 72(p), Z17, c3

// BTROWS applies Bᵀ down one patch column (d0..d3 become s0..s3):
// s0 = d0-d2, s1 = d1+d2, s2 = d2-d1, s3 = d1-d3.
#define BTROWS(d0, d1, d2, d3) \
	VSUBPS  d2, d0, d0;        \
	VSUBPS  d3, d1, d3;        \
	VSUBPS  d1, d2, Z16;       \
	VADDPS  d2, d1, d1;        \
	VMOVAPS Z16, d2

// BCOLS applies B along one row s0..s3 and stores its four positions
// through K1 at (R12), advancing R12 by the position stride R8:
// s0-s2, s1+s2, s2-s1, s1-s3.
#define BCOLS(s0, s1, s2, s3) \
	VSUBPS  s2, s0, Z16;      \
	VMOVUPS Z16, K1, (R12);   \
	ADDQ    R8, R12;          \
	VADDPS  s2, s1, Z16;      \
	VMOVUPS Z16, K1, (R12);   \
	ADDQ    R8, R12;          \
	VSUBPS  s1, s2, Z16;      \
	VMOVUPS Z16, K1, (R12);   \
	ADDQ    R8, R12;          \
	VSUBPS  s3, s1, Z16;      \
	VMOVUPS Z16, K1, (R12);   \
	ADDQ    R8, R12

// func winogradInputRowAVX512(plane *float32, pw int, v *float32, stride, tw int)
//
// winogradInputRowGo for 16 tiles at a time; the last block's missing
// tiles are masked out of the stores.
TEXT ·winogradInputRowAVX512(SB), NOSPLIT, $0-40
	MOVQ    plane+0(FP), SI
	MOVQ    pw+8(FP), R9
	SHLQ    $2, R9
	MOVQ    v+16(FP), DI
	MOVQ    stride+24(FP), R8
	SHLQ    $2, R8
	MOVQ    tw+32(FP), BX
	VMOVUPS ·permEven(SB), Z30
	VMOVUPS ·permOdd(SB), Z31

inBlock:
	MOVQ  BX, CX
	LANEMASK(DX, K1)
	MOVQ  SI, R10
	LOADROW(R10, Z0, Z1, Z2, Z3)
	ADDQ  R9, R10
	LOADROW(R10, Z4, Z5, Z6, Z7)
	ADDQ  R9, R10
	LOADROW(R10, Z8, Z9, Z10, Z11)
	ADDQ  R9, R10
	LOADROW(R10, Z12, Z13, Z14, Z15)
	BTROWS(Z0, Z4, Z8, Z12)
	BTROWS(Z1, Z5, Z9, Z13)
	BTROWS(Z2, Z6, Z10, Z14)
	BTROWS(Z3, Z7, Z11, Z15)
	MOVQ  DI, R12
	BCOLS(Z0, Z1, Z2, Z3)
	BCOLS(Z4, Z5, Z6, Z7)
	BCOLS(Z8, Z9, Z10, Z11)
	BCOLS(Z12, Z13, Z14, Z15)
	ADDQ  $128, SI
	ADDQ  $64, DI
	SUBQ  $16, BX
	JG    inBlock
	VZEROUPPER
	RET

// ATROWS applies Aᵀ down one column of the tile (m0..m3) into r0, r1:
// r0 = m0+m1+m2, r1 = m1-m2-m3.
#define ATROWS(m0, m1, m2, m3, r0, r1) \
	VADDPS m1, m0, r0;                 \
	VADDPS m2, r0, r0;                 \
	VSUBPS m2, m1, r1;                 \
	VSUBPS m3, r1, r1

// ACOLS applies A along one row s0..s3 and adds the bias (Z29):
// y0 = s0+s1+s2+bias, y1 = s1-s2-s3+bias.
#define ACOLS(s0, s1, s2, s3, y0, y1) \
	VADDPS s1, s0, y0;                \
	VADDPS s2, y0, y0;                \
	VADDPS Z29, y0, y0;               \
	VSUBPS s2, s1, y1;                \
	VSUBPS s3, y1, y1;                \
	VADDPS Z29, y1, y1

// STOREROW interleaves y0, y1 into 32 output columns at p, through the
// masks K2 (first 16) and K3 (next 16).
#define STOREROW(y0, y1, p) \
	VMOVAPS   Z30, Z16;     \
	VPERMI2PS y1, y0, Z16;  \
	VMOVUPS   Z16, K2, (p); \
	VMOVAPS   Z31, Z17;     \
	VPERMI2PS y1, y0, Z17;  \
	VMOVUPS   Z17, K3, 64(p)

// func winogradOutputRowAVX512(mt *float32, stride int, o *float32, ow, tw, cols, rows int, bias float32)
//
// winogradOutputRowGo for 16 tiles at a time: loads are masked to the
// tiles present, stores to the cols output columns of the row.
TEXT ·winogradOutputRowAVX512(SB), NOSPLIT, $0-60
	MOVQ         mt+0(FP), SI
	MOVQ         stride+8(FP), R8
	SHLQ         $2, R8
	MOVQ         o+16(FP), DI
	MOVQ         ow+24(FP), R9
	SHLQ         $2, R9
	MOVQ         tw+32(FP), BX
	MOVQ         cols+40(FP), DX
	MOVQ         rows+48(FP), R11
	VBROADCASTSS bias+56(FP), Z29
	VMOVUPS      winoZipLo<>(SB), Z30
	VMOVUPS      winoZipHi<>(SB), Z31

outBlock:
	MOVQ BX, CX
	LANEMASK(R12, K1)
	MOVQ DX, CX
	LANEMASK(R12, K2)
	LEAQ -16(DX), CX
	LANEMASK(R12, K3)
	MOVQ      SI, R12
	VMOVUPS.Z (R12), K1, Z0
	ADDQ      R8, R12
	VMOVUPS.Z (R12), K1, Z1
	ADDQ      R8, R12
	VMOVUPS.Z (R12), K1, Z2
	ADDQ      R8, R12
	VMOVUPS.Z (R12), K1, Z3
	ADDQ      R8, R12
	VMOVUPS.Z (R12), K1, Z4
	ADDQ      R8, R12
	VMOVUPS.Z (R12), K1, Z5
	ADDQ      R8, R12
	VMOVUPS.Z (R12), K1, Z6
	ADDQ      R8, R12
	VMOVUPS.Z (R12), K1, Z7
	ADDQ      R8, R12
	VMOVUPS.Z (R12), K1, Z8
	ADDQ      R8, R12
	VMOVUPS.Z (R12), K1, Z9
	ADDQ      R8, R12
	VMOVUPS.Z (R12), K1, Z10
	ADDQ      R8, R12
	VMOVUPS.Z (R12), K1, Z11
	ADDQ      R8, R12
	VMOVUPS.Z (R12), K1, Z12
	ADDQ      R8, R12
	VMOVUPS.Z (R12), K1, Z13
	ADDQ      R8, R12
	VMOVUPS.Z (R12), K1, Z14
	ADDQ      R8, R12
	VMOVUPS.Z (R12), K1, Z15
	ATROWS(Z0, Z4, Z8, Z12, Z16, Z20)
	ATROWS(Z1, Z5, Z9, Z13, Z17, Z21)
	ATROWS(Z2, Z6, Z10, Z14, Z18, Z22)
	ATROWS(Z3, Z7, Z11, Z15, Z19, Z23)
	ACOLS(Z16, Z17, Z18, Z19, Z24, Z25)
	ACOLS(Z20, Z21, Z22, Z23, Z26, Z27)
	STOREROW(Z24, Z25, DI)
	CMPQ      R11, $2
	JLT       outNext
	LEAQ      (DI)(R9*1), R13
	STOREROW(Z26, Z27, R13)

outNext:
	ADDQ $64, SI
	ADDQ $128, DI
	SUBQ $32, DX
	SUBQ $16, BX
	JG   outBlock
	VZEROUPPER
	RET
