//go:build amd64 && !purego

package observe

import "golang.org/x/sys/cpu"

//go:noescape
func binIndexAVX2(p *float32, n int, scale float64, off int32, idx *int32)

// binIndexVector writes the cell indices (floor(x*scale) - off) of the
// longest prefix of data whose length is a multiple of 8 into idx and
// returns how many it wrote: 0 without AVX2. The caller keeps every
// floor(x*scale) and off within the int32 range.
func binIndexVector(data []float32, scale float64, off int32, idx []int32) int {
	n := min(len(data), len(idx)) &^ 7
	if n == 0 || !cpu.X86.HasAVX2 {
		return 0
	}
	binIndexAVX2(&data[0], n, scale, off, &idx[0])
	return n
}
