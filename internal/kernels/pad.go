package kernels

import (
	"gorgonia.org/tensor"
)

// Pad is ONNX Pad: pads is [begin_1..begin_n, end_1..end_n] for the listed axes
// (all axes when axes is nil); negative pads crop. mode is "constant" (default,
// filling value converted to x's type), "reflect", "edge" or "wrap".
func Pad(x *tensor.Dense, pads []int, mode string, value float64, axes []int) (*tensor.Dense, error) {
	const op = "Pad"
	if x == nil {
		return nil, shapeErr(op, "missing input")
	}
	in := Dims(x)
	r := len(in)
	if axes == nil {
		axes = make([]int, r)
		for i := range axes {
			axes[i] = i
		}
	}
	if len(pads) != 2*len(axes) {
		return nil, shapeErr(op, "pads %v need %d values", pads, 2*len(axes))
	}
	pb, pe := make([]int, r), make([]int, r)
	for i, a := range axes {
		a, err := normAxis(op, a, r)
		if err != nil {
			return nil, err
		}
		pb[a], pe[a] = pads[i], pads[len(axes)+i]
	}
	out := make([]int, r)
	for d := range in {
		out[d] = in[d] + pb[d] + pe[d]
		if out[d] < 0 {
			return nil, shapeErr(op, "pads %v crop dim %d of %v below zero", pads, d, in)
		}
	}
	if prod(out) == 0 {
		return Empty(out, x.Dtype()), nil
	}
	switch mode {
	case "", "constant", "reflect", "edge", "wrap":
	default:
		return nil, shapeErr(op, "unknown mode %q", mode)
	}
	src := Flat(x)
	n := prod(in)
	fill := n // index of the fill value appended after the data
	ist := strides(in)
	idx := make([]int, prod(out))
	forEachIndex(out, func(i int, ix []int) {
		p := 0
		for d, v := range ix {
			c := v - pb[d]
			if c < 0 || c >= in[d] {
				switch mode {
				case "edge":
					c = min(max(c, 0), in[d]-1)
				case "wrap":
					c = ((c % in[d]) + in[d]) % in[d]
				case "reflect":
					if in[d] == 1 {
						c = 0
						break
					}
					period := 2 * (in[d] - 1)
					c = ((c % period) + period) % period
					if c >= in[d] {
						c = period - c
					}
				default:
					p = -1
				}
			}
			if p < 0 {
				break
			}
			p += c * ist[d]
		}
		if p < 0 {
			p = fill
		}
		idx[i] = p
	})
	ext := makeLike(src, n+1)
	copyAt(ext, 0, src, 0, n)
	copyAt(ext, n, castLike(src, value), 0, 1)
	res, err := take(op, ext, idx)
	if err != nil {
		return nil, err
	}
	return New(out, res)
}

// castLike returns a one-element slice of src's element type holding v.
func castLike(src any, v float64) any {
	if _, ok := src.([]bool); ok {
		return []bool{v != 0}
	}
	f := []float64{v}
	switch src.(type) {
	case []float32:
		return castNum[float32](f)
	case []float64:
		return f
	case []int64:
		return castNum[int64](f)
	case []int32:
		return castNum[int32](f)
	case []int16:
		return castNum[int16](f)
	case []int8:
		return castNum[int8](f)
	case []uint8:
		return castNum[uint8](f)
	case []uint16:
		return castNum[uint16](f)
	case []uint32:
		return castNum[uint32](f)
	case []uint64:
		return castNum[uint64](f)
	}
	return nil
}
