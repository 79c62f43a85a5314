//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

//go:noescape
func clipAVX(out, s *float32, n int, lo, hi float32)

//go:noescape
func reluAVX(out, s *float32, n int)

// clipVector clamps the longest prefix of s whose length is a multiple of
// 32 into out and returns its length (0 without AVX). MAXPS and MINPS
// return their second source when the comparison is false (NaN, equal
// zeros), which with the bound as the first source is exactly clipT's
// "v < lo ? lo : v" then "v > hi ? hi : v", bits included.
func clipVector(out, s []float32, lo, hi float32) int {
	n := len(s) &^ 31
	if n == 0 || !cpu.X86.HasAVX {
		return 0
	}
	clipAVX(&out[0], &s[0], n, lo, hi)
	return n
}

// reluVector is clipVector for reluF32: MAXPS(v, +0) is "v > 0 ? v : +0".
func reluVector(out, s []float32) int {
	n := len(s) &^ 31
	if n == 0 || !cpu.X86.HasAVX {
		return 0
	}
	reluAVX(&out[0], &s[0], n)
	return n
}
