package kernels

import (
	"gorgonia.org/tensor"
)

// Matrix-shaped kernels: triangles, one-hot maxima and identity matrices.

// Trilu keeps the lower (upper=false) or upper triangle of the last two
// dims, relative to diagonal k; the rest becomes zero.
func Trilu(x *tensor.Dense, k int, upper bool) (*tensor.Dense, error) {
	const op = "Trilu"
	sh := Dims(x)
	if len(sh) < 2 {
		return nil, shapeErr(op, "input %v must have rank >= 2", sh)
	}
	r, c := sh[len(sh)-2], sh[len(sh)-1]
	src := Flat(x)
	idx := make([]int, 0, prod(sh))
	keep := make([]bool, 0, prod(sh))
	for base := 0; base < prod(sh); base += r * c {
		for i := 0; i < r; i++ {
			for j := 0; j < c; j++ {
				idx = append(idx, base+i*c+j)
				if upper {
					keep = append(keep, j-i >= k)
				} else {
					keep = append(keep, j-i <= k)
				}
			}
		}
	}
	out := cloneSlice(src)
	zero := makeLike(src, 1)
	for i, ok := range keep {
		if !ok {
			setFrom(out, idx[i], zero, 0)
		}
	}
	return New(sh, out)
}

// setFrom copies src[j] into dst[i] for slices of one element type.
func setFrom(dst any, i int, src any, j int) {
	switch d := dst.(type) {
	case []float32:
		d[i] = src.([]float32)[j]
	case []float64:
		d[i] = src.([]float64)[j]
	case []int64:
		d[i] = src.([]int64)[j]
	case []int32:
		d[i] = src.([]int32)[j]
	case []int16:
		d[i] = src.([]int16)[j]
	case []int8:
		d[i] = src.([]int8)[j]
	case []uint8:
		d[i] = src.([]uint8)[j]
	case []uint16:
		d[i] = src.([]uint16)[j]
	case []uint32:
		d[i] = src.([]uint32)[j]
	case []uint64:
		d[i] = src.([]uint64)[j]
	case []bool:
		d[i] = src.([]bool)[j]
	}
}

// Hardmax sets 1 at the first maximum along axis (opset >= 13) or of each
// row of the 2-D view at axis (coerce2D, opset < 13), 0 elsewhere.
func Hardmax(x *tensor.Dense, axis int, coerce2D bool) (*tensor.Dense, error) {
	const op = "Hardmax"
	xs, sh, err := f32in(op, x)
	if err != nil {
		return nil, err
	}
	a, err := normAxis(op, axis, len(sh))
	if err != nil {
		return nil, err
	}
	outer, n, inner := prod(sh[:a]), sh[a], prod(sh[a+1:])
	if coerce2D {
		n, inner = prod(sh[a:]), 1
	}
	out := make([]float32, len(xs))
	for o := 0; o < outer; o++ {
		for in := 0; in < inner; in++ {
			base := o*n*inner + in
			best := 0
			for j := 1; j < n; j++ {
				if xs[base+j*inner] > xs[base+best*inner] {
					best = j
				}
			}
			out[base+best*inner] = 1
		}
	}
	return New(sh, out)
}

// EyeLike returns a 2-D tensor of x's shape with ones on diagonal k, of dtype.
func EyeLike(x *tensor.Dense, k int, dtype tensor.Dtype) (*tensor.Dense, error) {
	sh := Dims(x)
	if len(sh) != 2 {
		return nil, shapeErr("EyeLike", "input %v must be 2-D", sh)
	}
	ones, err := Cast(tensor.New(tensor.WithShape(1), tensor.WithBacking([]float32{1})), dtype)
	if err != nil {
		return nil, err
	}
	one := Flat(ones)
	out := makeLike(one, prod(sh))
	for i := 0; i < sh[0]; i++ {
		if j := i + k; j >= 0 && j < sh[1] {
			setFrom(out, i*sh[1]+j, one, 0)
		}
	}
	return New(sh, out)
}
