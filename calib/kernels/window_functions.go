package kernels

import (
	"math"

	"gorgonia.org/tensor"
)

// CosineSumWindow is a window of size samples, w[i] = a0 - a1 cos(x) +
// a2 cos(2x) with x = 2 pi i / N, as float32: HannWindow, HammingWindow and
// BlackmanWindow are its three coefficient sets. N is size for a periodic
// window and size-1 for a symmetric one.
func CosineSumWindow(size int, coef [3]float64, periodic bool) (*tensor.Dense, error) {
	den := float64(size)
	if !periodic {
		den--
	}
	w := make([]float32, max(size, 0))
	for i := range w {
		x := 2 * math.Pi * float64(i) / den
		w[i] = float32(coef[0] - coef[1]*math.Cos(x) + coef[2]*math.Cos(2*x))
	}
	return New([]int{size}, w)
}
