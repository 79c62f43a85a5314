//go:build !amd64 || purego

package kernels

func maxKeysS2K3(x []float32, rk []int32) bool { return false }

func maxKeys3(a, b, c, acc []int32, out []uint32) (special int, ok bool) { return 0, false }
