//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

//go:noescape
func maxKeysS2K3AVX512(x *float32, rk *int32, n int)

//go:noescape
func maxKeys3AVX512(a, b, c, acc *int32, out *uint32, n int) (special int)

// maxKeysS2K3 fills rk[t] with the max key of x[2t], x[2t+1], x[2t+2] for
// every t < len(rk) (x holds at least 2*len(rk)+1 values); it reports false,
// having done nothing, where there is no vector form.
func maxKeysS2K3(x []float32, rk []int32) bool {
	n := len(rk)
	if n == 0 || !cpu.X86.HasAVX512F {
		return false
	}
	_ = x[2*n]
	maxKeysS2K3AVX512(&x[0], &rk[0], n)
	return true
}

// maxKeys3 sets acc[i] = max(a[i], b[i], c[i]) and out[i] to the float
// bits of acc[i] for every i < len(acc), and returns how many of those keys
// are a NaN's or +0's (whose out is wrong and must be redone). It reports
// false, having done nothing, where there is no vector form.
func maxKeys3(a, b, c, acc []int32, out []uint32) (special int, ok bool) {
	n := len(acc)
	if n == 0 || !cpu.X86.HasAVX512F {
		return 0, false
	}
	_, _, _, _ = a[n-1], b[n-1], c[n-1], out[n-1]
	return maxKeys3AVX512(&a[0], &b[0], &c[0], &acc[0], &out[0], n), true
}
