package kernels

import (
	"math"

	"gorgonia.org/tensor"
)

// DFT is ONNX DFT on a float32 signal whose last axis holds 1 (real) or 2
// (real, imaginary) components: the discrete Fourier transform along axis
// (not the last), of length n (0: the axis' size; shorter signals are
// zero-padded, longer ones cut), its inverse (scaled by 1/n) with inverse,
// and only the n/2+1 non-redundant frequencies with onesided. The result
// has 2 components. A direct O(n²) sum: calibration transforms are short.
func DFT(x *tensor.Dense, n, axis int, inverse, onesided bool) (*tensor.Dense, error) {
	const op = "DFT"
	sh := Dims(x)
	r := len(sh)
	if r < 2 || (sh[r-1] != 1 && sh[r-1] != 2) {
		return nil, shapeErr(op, "input %v must end in a real or complex axis of 1 or 2", sh)
	}
	a, err := normAxis(op, axis, r)
	if err != nil {
		return nil, err
	}
	if a == r-1 {
		return nil, shapeErr(op, "axis %d is the component axis of %v", axis, sh)
	}
	xs, err := float64s(x)
	if err != nil {
		return nil, err
	}
	in := sh[a]
	if n <= 0 {
		n = in
	}
	bins := n
	if onesided {
		bins = n/2 + 1
	}
	comps := sh[r-1]
	outer, inner := prod(sh[:a]), prod(sh[a+1:r-1])
	osh := append([]int(nil), sh...)
	osh[a], osh[r-1] = bins, 2
	out := make([]float32, prod(osh))
	sign := -1.0
	if inverse {
		sign = 1
	}
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			for k := 0; k < bins; k++ {
				var re, im float64
				for t := 0; t < min(n, in); t++ {
					at := ((o*in+t)*inner + i) * comps
					xr, xi := xs[at], 0.0
					if comps == 2 {
						xi = xs[at+1]
					}
					angle := sign * 2 * math.Pi * float64(k) * float64(t) / float64(n)
					c, s := math.Cos(angle), math.Sin(angle)
					re += xr*c - xi*s
					im += xr*s + xi*c
				}
				if inverse {
					re, im = re/float64(n), im/float64(n)
				}
				dst := ((o*bins+k)*inner + i) * 2
				out[dst], out[dst+1] = float32(re), float32(im)
			}
		}
	}
	return New(osh, out)
}

// STFT is ONNX STFT on a [batch, length, 1 or 2] float32 signal: frames of
// frameLength samples every step, each multiplied by window (nil: all
// ones), transformed; onesided keeps the frameLength/2+1 non-redundant
// frequencies. The result is [batch, frames, bins, 2].
func STFT(x *tensor.Dense, step, frameLength int, window []float32, onesided bool) (*tensor.Dense, error) {
	const op = "STFT"
	sh := Dims(x)
	if len(sh) != 3 || (sh[2] != 1 && sh[2] != 2) {
		return nil, shapeErr(op, "signal %v must be [batch, length, 1 or 2]", sh)
	}
	if window != nil {
		frameLength = len(window)
	}
	if step < 1 || frameLength < 1 || frameLength > sh[1] {
		return nil, shapeErr(op, "frame_step %d and frame length %d do not fit a signal of %d", step, frameLength, sh[1])
	}
	xs, err := float64s(x)
	if err != nil {
		return nil, err
	}
	batch, length, comps := sh[0], sh[1], sh[2]
	frames := (length-frameLength)/step + 1
	bins := frameLength
	if onesided {
		bins = frameLength/2 + 1
	}
	out := make([]float32, batch*frames*bins*2)
	for b := 0; b < batch; b++ {
		for f := 0; f < frames; f++ {
			for k := 0; k < bins; k++ {
				var re, im float64
				for t := 0; t < frameLength; t++ {
					at := (b*length + f*step + t) * comps
					w := 1.0
					if window != nil {
						w = float64(window[t])
					}
					xr, xi := xs[at]*w, 0.0
					if comps == 2 {
						xi = xs[at+1] * w
					}
					angle := -2 * math.Pi * float64(k) * float64(t) / float64(frameLength)
					c, s := math.Cos(angle), math.Sin(angle)
					re += xr*c - xi*s
					im += xr*s + xi*c
				}
				dst := ((b*frames+f)*bins + k) * 2
				out[dst], out[dst+1] = float32(re), float32(im)
			}
		}
	}
	return New([]int{batch, frames, bins, 2}, out)
}
