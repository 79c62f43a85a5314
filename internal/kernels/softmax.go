package kernels

import (
	"math"

	"gorgonia.org/tensor"
)

// Softmax is ONNX Softmax. With coerce2D (opset < 13) the input is viewed as
// 2-D [prod(dims[:axis]), prod(dims[axis:])] and normalized per row; otherwise
// (opset >= 13) it is normalized along axis alone.
func Softmax(x *tensor.Dense, axis int, coerce2D bool) (*tensor.Dense, error) {
	return softmax("Softmax", x, axis, coerce2D, false)
}

// LogSoftmax is ONNX LogSoftmax, with the same axis semantics as Softmax.
func LogSoftmax(x *tensor.Dense, axis int, coerce2D bool) (*tensor.Dense, error) {
	return softmax("LogSoftmax", x, axis, coerce2D, true)
}

func softmax(op string, x *tensor.Dense, axis int, coerce2D, logOut bool) (*tensor.Dense, error) {
	xs, sh, err := f32in(op, x)
	if err != nil {
		return nil, err
	}
	rank := max(len(sh), 1)
	if axis, err = normAxis(op, axis, rank); err != nil {
		return nil, err
	}
	var outer, n, inner int
	if len(sh) == 0 {
		outer, n, inner = 1, 1, 1
	} else if coerce2D {
		outer, n, inner = prod(sh[:axis]), prod(sh[axis:]), 1
	} else {
		outer, n, inner = prod(sh[:axis]), sh[axis], prod(sh[axis+1:])
	}
	out := make([]float32, len(xs))
	buf := make([]float64, n)
	for o := 0; o < outer; o++ {
		for in := 0; in < inner; in++ {
			base := o*n*inner + in
			m := math.Inf(-1)
			for i := 0; i < n; i++ {
				m = math.Max(m, float64(xs[base+i*inner]))
			}
			var sum float64
			for i := 0; i < n; i++ {
				buf[i] = float64(xs[base+i*inner]) - m
				sum += math.Exp(buf[i])
			}
			if logOut {
				ls := math.Log(sum)
				for i := 0; i < n; i++ {
					out[base+i*inner] = float32(buf[i] - ls)
				}
				continue
			}
			for i := 0; i < n; i++ {
				out[base+i*inner] = float32(math.Exp(buf[i]) / sum)
			}
		}
	}
	return New(sh, out)
}
