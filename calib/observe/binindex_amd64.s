//go:build amd64 && !purego

#include "textflag.h"

// binPack64AVX2 and binPack32AVX2 compute bin's cell index
// floor(x * scale) - off of n values (n a positive multiple of 8), eight a
// step, count the indices equal to hot0 or hot1 and pack the others, in
// order, to idx. They return the number packed (kept) and the two counts.
//
// binPack64AVX2 multiplies in float64, where the product is always exact
// (scale is a power of two). binPack32AVX2 multiplies in float32, which
// the caller uses only when that is exact too (see bin). Either way the
// floor is exact and the caller keeps every cell index within int32, so
// each index is the scalar loop's.
//
// Packing: the 8-bit mask of hot lanes selects lut[mask], eight 4-bit lane
// numbers of the lanes to keep (lowest nibble first); a variable shift
// spreads them over the dword lanes and VPERMD gathers the kept indices to
// the front. All eight lanes are stored but the output pointer advances by
// the kept count only, so idx needs room for n indices.
//
// Registers: AX = p, CX = values left, DI = idx, SI = lut, R12 = idx
// start, Y15 = scale, Y14 = off, Y13/Y12 = hot0/hot1, Y11 = nibble
// shifts, Y10/Y9 = per-lane hot counts (subtracting the all-ones compare
// masks), Y0 = the eight indices.

// nibbleShifts are the per-lane shift counts 0, 4, ..., 28: lane i of the
// broadcast lut entry gets nibble i in its low bits (VPERMD reads only the
// low three).
DATA nibbleShifts<>+0(SB)/8, $0x0000000400000000
DATA nibbleShifts<>+8(SB)/8, $0x0000000c00000008
DATA nibbleShifts<>+16(SB)/8, $0x0000001400000010
DATA nibbleShifts<>+24(SB)/8, $0x0000001c00000018
GLOBL nibbleShifts<>(SB), RODATA|NOPTR, $32

#define SETUP \
	MOVQ         p+0(FP), AX      \
	MOVQ         n+8(FP), CX      \
	MOVL         off+24(FP), DX   \
	VMOVD        DX, X14          \
	VPBROADCASTD X14, Y14         \
	MOVL         hot0+28(FP), DX  \
	VMOVD        DX, X13          \
	VPBROADCASTD X13, Y13         \
	MOVL         hot1+32(FP), DX  \
	VMOVD        DX, X12          \
	VPBROADCASTD X12, Y12         \
	MOVQ         idx+40(FP), DI   \
	MOVQ         lut+48(FP), SI   \
	MOVQ         DI, R12          \
	VPXOR        Y10, Y10, Y10    \
	VPXOR        Y9, Y9, Y9       \
	VMOVDQU      nibbleShifts<>(SB), Y11

// PACK tallies and packs the indices in Y0 and advances AX, CX and DI.
#define PACK \
	VPSUBD       Y14, Y0, Y0      \
	VPCMPEQD     Y13, Y0, Y2      \
	VPCMPEQD     Y12, Y0, Y3      \
	VPSUBD       Y2, Y10, Y10     \
	VPSUBD       Y3, Y9, Y9       \
	VPOR         Y3, Y2, Y2       \
	VMOVMSKPS    Y2, BX           \
	VPBROADCASTD (SI)(BX*4), Y4   \
	VPSRLVD      Y11, Y4, Y4      \
	VPERMD       Y0, Y4, Y5       \
	VMOVDQU      Y5, (DI)         \
	POPCNTL      BX, BX           \
	SHLQ         $2, BX           \
	ADDQ         $32, DI          \
	SUBQ         BX, DI           \
	ADDQ         $32, AX          \
	SUBQ         $8, CX

// FINISH stores kept, hits0 and hits1 (horizontal sums of Y10 and Y9).
#define FINISH \
	SUBQ           R12, DI          \
	SHRQ           $2, DI           \
	MOVQ           DI, kept+56(FP)  \
	VEXTRACTI128   $1, Y10, X1      \
	VPADDD         X1, X10, X10     \
	VPSHUFD        $0x4e, X10, X1   \
	VPADDD         X1, X10, X10     \
	VPSHUFD        $0xb1, X10, X1   \
	VPADDD         X1, X10, X10     \
	VMOVD          X10, DX          \
	MOVQ           DX, hits0+64(FP) \
	VEXTRACTI128   $1, Y9, X1       \
	VPADDD         X1, X9, X9       \
	VPSHUFD        $0x4e, X9, X1    \
	VPADDD         X1, X9, X9       \
	VPSHUFD        $0xb1, X9, X1    \
	VPADDD         X1, X9, X9       \
	VMOVD          X9, DX           \
	MOVQ           DX, hits1+72(FP) \
	VZEROUPPER

// func binPack64AVX2(p *float32, n int, scale float64, off, hot0, hot1 int32, idx *int32, lut *[256]uint32) (kept, hits0, hits1 int)
TEXT ·binPack64AVX2(SB), NOSPLIT, $0-80
	SETUP
	VBROADCASTSD scale+16(FP), Y15

loop64:
	VCVTPS2PD   (AX), Y0
	VCVTPS2PD   16(AX), Y1
	VMULPD      Y15, Y0, Y0
	VMULPD      Y15, Y1, Y1
	VROUNDPD    $9, Y0, Y0 // toward -Inf, no precision exception
	VROUNDPD    $9, Y1, Y1
	VCVTTPD2DQY Y0, X0
	VCVTTPD2DQY Y1, X1
	VINSERTI128 $1, X1, Y0, Y0
	PACK
	JNZ         loop64
	FINISH
	RET

// func binPack32AVX2(p *float32, n int, scale float64, off, hot0, hot1 int32, idx *int32, lut *[256]uint32) (kept, hits0, hits1 int)
TEXT ·binPack32AVX2(SB), NOSPLIT, $0-80
	SETUP
	MOVSD        scale+16(FP), X15
	VCVTSD2SS    X15, X15, X15 // a power of two in float32 range: exact
	VBROADCASTSS X15, Y15

loop32:
	VMULPS     (AX), Y15, Y0
	VROUNDPS   $9, Y0, Y0 // toward -Inf, no precision exception
	VCVTTPS2DQ Y0, Y0
	PACK
	JNZ        loop32
	FINISH
	RET

// func binPack32AVX512(p *float32, n int, scale float64, off, hot0, hot1 int32, idx *int32) (kept, hits0, hits1 int)
//
// binPack32AVX2 sixteen a step with AVX-512: VPCOMPRESSD packs the kept
// lanes, so no table is needed; n is a positive multiple of 16.
TEXT ·binPack32AVX512(SB), NOSPLIT, $0-72
	MOVQ         p+0(FP), AX
	MOVQ         n+8(FP), CX
	MOVSD        scale+16(FP), X15
	VCVTSD2SS    X15, X15, X15
	VBROADCASTSS X15, Z15
	MOVL         off+24(FP), DX
	VPBROADCASTD DX, Z14
	MOVL         hot0+28(FP), DX
	VPBROADCASTD DX, Z13
	MOVL         hot1+32(FP), DX
	VPBROADCASTD DX, Z12
	MOVQ         idx+40(FP), DI
	MOVQ         DI, R12
	MOVL         $1, DX
	VPBROADCASTD DX, Z11
	VPXORD       Z10, Z10, Z10
	VPXORD       Z9, Z9, Z9

loop512:
	VMULPS       (AX), Z15, Z0
	VRNDSCALEPS  $9, Z0, Z0 // toward -Inf, no precision exception
	VCVTTPS2DQ   Z0, Z0
	VPSUBD       Z14, Z0, Z0
	VPCMPEQD     Z13, Z0, K1
	VPCMPEQD     Z12, Z0, K2
	VPADDD       Z11, Z10, K1, Z10
	VPADDD       Z11, Z9, K2, Z9
	KORW         K1, K2, K3
	KNOTW        K3, K3
	VPCOMPRESSD  Z0, K3, Z1
	VMOVDQU32    Z1, (DI)
	KMOVW        K3, BX
	POPCNTL      BX, BX
	LEAQ         (DI)(BX*4), DI
	ADDQ         $64, AX
	SUBQ         $16, CX
	JNZ          loop512

	SUBQ          R12, DI
	SHRQ          $2, DI
	MOVQ          DI, kept+48(FP)
	VEXTRACTI64X4 $1, Z10, Y1
	VPADDD        Y1, Y10, Y10
	VEXTRACTI128  $1, Y10, X1
	VPADDD        X1, X10, X10
	VPSHUFD       $0x4e, X10, X1
	VPADDD        X1, X10, X10
	VPSHUFD       $0xb1, X10, X1
	VPADDD        X1, X10, X10
	VMOVD         X10, DX
	MOVQ          DX, hits0+56(FP)
	VEXTRACTI64X4 $1, Z9, Y1
	VPADDD        Y1, Y9, Y9
	VEXTRACTI128  $1, Y9, X1
	VPADDD        X1, X9, X9
	VPSHUFD       $0x4e, X9, X1
	VPADDD        X1, X9, X9
	VPSHUFD       $0xb1, X9, X1
	VPADDD        X1, X9, X9
	VMOVD         X9, DX
	MOVQ          DX, hits1+64(FP)
	VZEROUPPER
	RET
