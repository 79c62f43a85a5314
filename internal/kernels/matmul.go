package kernels

import "gorgonia.org/tensor"

// Gemm is ONNX Gemm: Y = alpha*op(A)*op(B) + beta*C with A, B 2-D float32 and
// C (optional) broadcast unidirectionally to [M, N].
func Gemm(a, b, c *tensor.Dense, transA, transB bool, alpha, beta float32, workers int) (*tensor.Dense, error) {
	return GemmWith(nil, a, b, c, transA, transB, alpha, beta, workers)
}

// GemmWith is Gemm writing its result into a buffer from alloc.
func GemmWith(alloc Alloc, a, b, c *tensor.Dense, transA, transB bool, alpha, beta float32, workers int) (*tensor.Dense, error) {
	const op = "Gemm"
	as, ash, err := f32in(op, a)
	if err != nil {
		return nil, err
	}
	bs, bsh, err := f32in(op, b)
	if err != nil {
		return nil, err
	}
	if len(ash) != 2 || len(bsh) != 2 {
		return nil, shapeErr(op, "A %v and B %v must be 2-D", ash, bsh)
	}
	M, K := ash[0], ash[1]
	if transA {
		M, K = K, M
	}
	K2, N := bsh[0], bsh[1]
	if transB {
		K2, N = N, K2
	}
	if K != K2 {
		return nil, shapeErr(op, "inner dimensions differ: A %v (transA=%v), B %v (transB=%v)", ash, transA, bsh, transB)
	}
	// With C absent the GEMM runs with beta 0, which writes C without
	// reading it, so a recycled buffer needs no clearing.
	out := alloc.f32(M * N)
	var cb float32
	if c != nil && beta != 0 {
		cs, csh, err := f32in(op, c)
		if err != nil {
			return nil, err
		}
		if !canBroadcastTo(csh, []int{M, N}) {
			return nil, shapeErr(op, "C %v does not broadcast to [%d %d]", csh, M, N)
		}
		for i, j := range bcastIndex(csh, []int{M, N}) {
			out[i] = beta * cs[j]
		}
		cb = 1
	}
	sgemmParallel(workers, transA, transB, M, N, K, alpha, as, ash[1], bs, bsh[1], cb, out, N)
	return New([]int{M, N}, out)
}

// MatMul is numpy matmul on float32: 1-D operands are promoted (and the added
// dim dropped afterwards) and batch dims broadcast.
func MatMul(a, b *tensor.Dense, workers int) (*tensor.Dense, error) {
	return MatMulWith(nil, a, b, workers)
}

// MatMulWith is MatMul writing its result into a buffer from alloc; every
// GEMM below runs with beta 0 and together they cover the whole output.
func MatMulWith(alloc Alloc, a, b *tensor.Dense, workers int) (*tensor.Dense, error) {
	const op = "MatMul"
	as, ash, err := f32in(op, a)
	if err != nil {
		return nil, err
	}
	bs, bsh, err := f32in(op, b)
	if err != nil {
		return nil, err
	}
	if len(ash) == 0 || len(bsh) == 0 {
		return nil, shapeErr(op, "operands %v and %v must not be scalars", ash, bsh)
	}
	aVec, bVec := len(ash) == 1, len(bsh) == 1
	if aVec {
		ash = []int{1, ash[0]}
	}
	if bVec {
		bsh = []int{bsh[0], 1}
	}
	M, K := ash[len(ash)-2], ash[len(ash)-1]
	K2, N := bsh[len(bsh)-2], bsh[len(bsh)-1]
	if K != K2 {
		return nil, shapeErr(op, "inner dimensions differ: %v x %v", Dims(a), Dims(b))
	}
	abat, bbat := ash[:len(ash)-2], bsh[:len(bsh)-2]
	batch, err := BroadcastShape(op, abat, bbat)
	if err != nil {
		return nil, err
	}
	nb := prod(batch)
	out := alloc.f32(nb * M * N)
	switch {
	case prod(bbat) == 1:
		// B is shared by every batch: fold A's batch into its rows (one GEMM).
		rows := nb * M
		if prod(abat) != nb {
			for i, j := range bcastIndex(abat, batch) {
				sgemmParallel(workers, false, false, M, N, K, 1, as[j*M*K:], K, bs, N, 0, out[i*M*N:], N)
			}
			break
		}
		sgemmParallel(workers, false, false, rows, N, K, 1, as, K, bs, N, 0, out, N)
	default:
		ai, bi := bcastIndex(abat, batch), bcastIndex(bbat, batch)
		for i := 0; i < nb; i++ {
			sgemmParallel(workers, false, false, M, N, K, 1, as[ai[i]*M*K:], K, bs[bi[i]*K*N:], N, 0, out[i*M*N:], N)
		}
	}
	osh := append([]int(nil), batch...)
	if !aVec {
		osh = append(osh, M)
	}
	if !bVec {
		osh = append(osh, N)
	}
	return New(osh, out)
}
