//go:build amd64 && !purego

package observe

import "golang.org/x/sys/cpu"

//go:noescape
func keyRangeAVX2(p *int32, n int, lo, hi *[8]int32)

// keyRangeVector folds the keys of the longest prefix of bits whose length
// is a multiple of 32 into (lo, hi) and returns how many it consumed: 0
// when the CPU lacks AVX2 or the prefix is empty.
func keyRangeVector(bits []int32, lo, hi int32) (int32, int32, int) {
	n := len(bits) &^ 31
	if n == 0 || !cpu.X86.HasAVX2 {
		return lo, hi, 0
	}
	var l, h [8]int32
	keyRangeAVX2(&bits[0], n, &l, &h)
	for j := range l {
		lo, hi = min(lo, l[j]), max(hi, h[j])
	}
	return lo, hi, n
}
