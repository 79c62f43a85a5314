//go:build amd64 && !purego

#include "textflag.h"

// Permutation indices for VPERMI2PS over a register pair (A, B), lanes
// 0-15 of A then of B: the even elements and the odd elements. Shared by
// the Winograd and depthwise kernels, which split stride-2 rows with them.
DATA ·permEven+0(SB)/4, $0
DATA ·permEven+4(SB)/4, $2
DATA ·permEven+8(SB)/4, $4
DATA ·permEven+12(SB)/4, $6
DATA ·permEven+16(SB)/4, $8
DATA ·permEven+20(SB)/4, $10
DATA ·permEven+24(SB)/4, $12
DATA ·permEven+28(SB)/4, $14
DATA ·permEven+32(SB)/4, $16
DATA ·permEven+36(SB)/4, $18
DATA ·permEven+40(SB)/4, $20
DATA ·permEven+44(SB)/4, $22
DATA ·permEven+48(SB)/4, $24
DATA ·permEven+52(SB)/4, $26
DATA ·permEven+56(SB)/4, $28
DATA ·permEven+60(SB)/4, $30
GLOBL ·permEven(SB), RODATA|NOPTR, $64

DATA ·permOdd+0(SB)/4, $1
DATA ·permOdd+4(SB)/4, $3
DATA ·permOdd+8(SB)/4, $5
DATA ·permOdd+12(SB)/4, $7
DATA ·permOdd+16(SB)/4, $9
DATA ·permOdd+20(SB)/4, $11
DATA ·permOdd+24(SB)/4, $13
DATA ·permOdd+28(SB)/4, $15
DATA ·permOdd+32(SB)/4, $17
DATA ·permOdd+36(SB)/4, $19
DATA ·permOdd+40(SB)/4, $21
DATA ·permOdd+44(SB)/4, $23
DATA ·permOdd+48(SB)/4, $25
DATA ·permOdd+52(SB)/4, $27
DATA ·permOdd+56(SB)/4, $29
DATA ·permOdd+60(SB)/4, $31
GLOBL ·permOdd(SB), RODATA|NOPTR, $64
