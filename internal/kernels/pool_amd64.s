//go:build amd64 && !purego

#include "textflag.h"
#include "lanes_amd64.h"

// KEY turns the float32 bits in z into maxKey order keys (Z28 holds
// keyShift): b ^ (uint32(b >> 31) >> 1) - keyShift.
#define KEY(z)           \
	VPSRAD $31, z, Z27;  \
	VPSRLD $1, Z27, Z27; \
	VPXORD Z27, z, z;    \
	VPSUBD Z28, z, z

// func maxKeysS2K3AVX512(x *float32, rk *int32, n int)
//
// rk[t] = max(maxKey(x[2t]), maxKey(x[2t+1]), maxKey(x[2t+2])) for t < n:
// the horizontal window maxima of a 3-wide, stride-2 pooling row. Loads are
// masked to the elements 0..2n the windows read.
TEXT ·maxKeysS2K3AVX512(SB), NOSPLIT, $0-24
	MOVQ         x+0(FP), SI
	MOVQ         rk+8(FP), DI
	MOVQ         n+16(FP), BX
	VMOVDQU32    ·permEven(SB), Z30
	VMOVDQU32    ·permOdd(SB), Z31
	MOVL         $0x7fffff, AX
	VPBROADCASTD AX, Z28

rowBlock:
	BLOCK16(BX, R11, DX)
	STRIDE2MASKS(DX)
	VMOVDQU32.Z (SI), K2, Z0
	VMOVDQU32.Z 64(SI), K3, Z1
	VMOVDQU32.Z 8(SI), K4, Z2
	VMOVDQU32.Z 72(SI), K5, Z3
	VMOVDQA32   Z30, Z4
	VPERMI2D    Z1, Z0, Z4
	VMOVDQA32   Z31, Z5
	VPERMI2D    Z1, Z0, Z5
	VMOVDQA32   Z30, Z6
	VPERMI2D    Z3, Z2, Z6
	KEY(Z4)
	KEY(Z5)
	KEY(Z6)
	VPMAXSD     Z5, Z4, Z4
	VPMAXSD     Z6, Z4, Z4
	VMOVDQU32   Z4, K1, (DI)
	ADDQ        $128, SI
	ADDQ        $64, DI
	SUBQ        $16, BX
	JG          rowBlock
	VZEROUPPER
	RET

// func maxKeys3AVX512(a, b, c, acc *int32, out *uint32, n int) (special int)
//
// acc[i] = max(a[i], b[i], c[i]) and out[i] = the float bits of acc[i]
// (fromMaxKey) for i < n; special counts the lanes whose key is a NaN's
// (above keyPosInf) or +0's, whose out the caller must work out again.
TEXT ·maxKeys3AVX512(SB), NOSPLIT, $0-56
	MOVQ         a+0(FP), SI
	MOVQ         b+8(FP), R8
	MOVQ         c+16(FP), R9
	MOVQ         acc+24(FP), R10
	MOVQ         out+32(FP), DI
	MOVQ         n+40(FP), BX
	XORQ         DX, DX
	MOVL         $0x7fffff, AX
	VPBROADCASTD AX, Z28
	MOVL         $0x7f000001, AX
	VPBROADCASTD AX, Z29
	MOVL         $-0x7fffff, AX
	VPBROADCASTD AX, Z30

finBlock:
	MOVQ        BX, CX
	LANEMASK(R11, K1)
	VMOVDQU32.Z (SI), K1, Z0
	VMOVDQU32.Z (R8), K1, Z1
	VMOVDQU32.Z (R9), K1, Z2
	VPMAXSD     Z1, Z0, Z0
	VPMAXSD     Z2, Z0, Z0
	VMOVDQU32   Z0, K1, (R10)
	VPCMPGTD    Z29, Z0, K1, K2
	VPCMPEQD    Z30, Z0, K1, K3
	KORW        K3, K2, K2
	KMOVW       K2, AX
	POPCNTL     AX, AX
	ADDQ        AX, DX
	VPADDD      Z28, Z0, Z0
	VPSRAD      $31, Z0, Z1
	VPSRLD      $1, Z1, Z1
	VPXORD      Z1, Z0, Z0
	VMOVDQU32   Z0, K1, (DI)
	ADDQ        $64, SI
	ADDQ        $64, R8
	ADDQ        $64, R9
	ADDQ        $64, R10
	ADDQ        $64, DI
	SUBQ        $16, BX
	JG          finBlock
	MOVQ        DX, special+48(FP)
	VZEROUPPER
	RET
