//go:build amd64 && !purego

package observe

import "golang.org/x/sys/cpu"

//go:noescape
func binPack64AVX2(p *float32, n int, scale float64, off, hot0, hot1 int32, idx *int32, lut *[256]uint32) (kept, hits0, hits1 int)

//go:noescape
func binPack32AVX2(p *float32, n int, scale float64, off, hot0, hot1 int32, idx *int32, lut *[256]uint32) (kept, hits0, hits1 int)

//go:noescape
func binPack32AVX512(p *float32, n int, scale float64, off, hot0, hot1 int32, idx *int32) (kept, hits0, hits1 int)

// packTable[m] lists, one 4-bit lane number each (lowest nibble first), the
// lanes of an 8-lane group that are not set in the mask m: the permutation
// that moves the indices the routines keep to the front.
var packTable = func() (t [256]uint32) {
	for m := range t {
		k := 0
		for lane := range 8 {
			if m>>lane&1 == 0 {
				t[m] |= uint32(lane) << (4 * k)
				k++
			}
		}
	}
	return t
}()

// binPack computes the cell indices floor(x*scale) - off of the longest
// prefix of data whose length is a multiple of 8 (at most len(idx)). It
// only counts the indices equal to hot0 or hot1 (hits0, hits1; hot0 !=
// hot1), writes the others in order to idx[:kept] and returns how many
// values it consumed: 0 without AVX2. The caller keeps every floor(x*scale)
// and off within the int32 range; with single set, it also guarantees
// that x*scale is exact in float32 (see bin), which is twice as fast.
func binPack(data []float32, scale float64, single bool, off, hot0, hot1 int32, idx []int32) (n, kept, hits0, hits1 int) {
	n = min(len(data), len(idx)) &^ 7
	if n == 0 || !cpu.X86.HasAVX2 {
		return 0, 0, 0, 0
	}
	if single && cpu.X86.HasAVX512F && n >= 16 {
		n &^= 15
		kept, hits0, hits1 = binPack32AVX512(&data[0], n, scale, off, hot0, hot1, &idx[0])
		return n, kept, hits0, hits1
	}
	if single {
		kept, hits0, hits1 = binPack32AVX2(&data[0], n, scale, off, hot0, hot1, &idx[0], &packTable)
	} else {
		kept, hits0, hits1 = binPack64AVX2(&data[0], n, scale, off, hot0, hot1, &idx[0], &packTable)
	}
	return n, kept, hits0, hits1
}
