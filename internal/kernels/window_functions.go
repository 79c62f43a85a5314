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

// MelWeightMatrix is ONNX MelWeightMatrix: a [dftLength/2+1, numMel] matrix
// of triangular filters that maps a linear-frequency power spectrum onto
// numMel bands equally spaced on the mel scale (mel = 2595·log10(1 +
// hz/700)) between lowHz and highHz. Band i rises from bin f(i) to f(i+1)
// and falls to f(i+2), where f are the band edges converted back to DFT
// bin indices (floor((dftLength+1)·hz / sampleRate)).
func MelWeightMatrix(numMel, dftLength, sampleRate int, lowHz, highHz float64) (*tensor.Dense, error) {
	const op = "MelWeightMatrix"
	if numMel < 1 || dftLength < 1 || sampleRate < 1 {
		return nil, shapeErr(op, "num_mel_bins %d, dft_length %d and sample_rate %d must be positive", numMel, dftLength, sampleRate)
	}
	bins := dftLength/2 + 1
	toMel := func(hz float64) float64 { return 2595 * math.Log10(1+hz/700) }
	lowMel, highMel := toMel(lowHz), toMel(highHz)
	// The edges step by a (numMel+2)th of the mel range, as ONNX's
	// reference computes them (the last edge stops short of highHz).
	step := (highMel - lowMel) / float64(numMel+2)
	edges := make([]int, numMel+2)
	for i := range edges {
		hz := 700 * (math.Pow(10, (float64(i)*step+lowMel)/2595) - 1)
		edges[i] = int(math.Floor(float64(dftLength+1) * hz / float64(sampleRate)))
	}
	out := make([]float32, bins*numMel)
	set := func(bin, band int, v float64) {
		if bin >= 0 && bin < bins {
			out[bin*numMel+band] = float32(v)
		}
	}
	for i := 0; i < numMel; i++ {
		lo, mid, hi := edges[i], edges[i+1], edges[i+2]
		if mid == lo {
			set(mid, i, 1)
		} else {
			for j := lo; j <= mid; j++ {
				set(j, i, float64(j-lo)/float64(mid-lo))
			}
		}
		for j := mid; j < hi; j++ {
			set(j, i, float64(hi-j)/float64(hi-mid))
		}
	}
	return New([]int{bins, numMel}, out)
}
