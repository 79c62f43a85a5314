// Lane masks for the AVX-512 kernels' partial blocks, shared by the
// assembly files of this package (#include "lanes_amd64.h").

// LANEMASK sets mask register k to the first min(max(CX, 0), 16) lanes,
// branch-free, clobbering AX, CX and tmp.
#define LANEMASK(tmp, k)  \
	XORQ    tmp, tmp;     \
	CMPQ    CX, $0;       \
	CMOVQLT tmp, CX;      \
	MOVQ    $16, tmp;     \
	CMPQ    CX, tmp;      \
	CMOVQGT tmp, CX;      \
	MOVL    $1, AX;       \
	SHLQ    CX, AX;       \
	DECQ    AX;           \
	KMOVW   AX, k

// STRIDE2MASKS sets the masks of a block of R11 (1 to 16) outputs of a
// 3-wide, stride-2 row, whose windows read elements 0..2*R11: K2 and K3 for
// loads of x[0:16] and x[16:32], K4 and K5 for x[2:18] and x[18:34], K1 for
// the R11 outputs. It clobbers AX, CX, R12 and tmp.
#define STRIDE2MASKS(tmp)          \
	LEAQ 1(R11)(R11*1), R12;       \
	MOVQ R12, CX;                  \
	LANEMASK(tmp, K2);             \
	LEAQ -16(R12), CX;             \
	LANEMASK(tmp, K3);             \
	LEAQ -2(R12), CX;              \
	LANEMASK(tmp, K4);             \
	LEAQ -18(R12), CX;             \
	LANEMASK(tmp, K5);             \
	MOVQ R11, CX;                  \
	LANEMASK(tmp, K1)

// BLOCK16 sets dst to min(src, 16), clobbering tmp.
#define BLOCK16(src, dst, tmp) \
	MOVQ    src, dst;           \
	MOVQ    $16, tmp;           \
	CMPQ    dst, tmp;           \
	CMOVQGT tmp, dst
