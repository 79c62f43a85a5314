package kernels

import (
	"math"

	"gorgonia.org/tensor"
)

// MaxPoolIndices is ONNX MaxPool with its Indices output: each maximum's
// position in the flattened input, counting N and C (padding is not
// counted). columnMajor (storage_order 1) counts the spatial axes last
// first, the way MaxUnpool's column-major users expect. Float32 and
// float64 input; ties take the first tap in window order, like MaxPool.
func MaxPoolIndices(x *tensor.Dense, p PoolParams, columnMajor bool) (*tensor.Dense, *tensor.Dense, error) {
	const op = "MaxPool"
	if x == nil {
		return nil, nil, shapeErr(op, "missing input")
	}
	sh := Dims(x)
	if len(sh) < 3 {
		return nil, nil, shapeErr(op, "input %v must have rank 3 to 5", sh)
	}
	g, err := p.Window.resolve(op, sh[2:], p.Kernel, p.CeilMode)
	if err != nil {
		return nil, nil, err
	}
	nc := sh[0] * sh[1]
	idx := make([]int64, nc*g.outSize())
	var out any
	switch s := Flat(x).(type) {
	case []float32:
		out = maxPoolArg(make([]float32, len(idx)), idx, s, nc, g, float32(math.Inf(-1)), columnMajor)
	case []float64:
		out = maxPoolArg(make([]float64, len(idx)), idx, s, nc, g, math.Inf(-1), columnMajor)
	default:
		return nil, nil, dtypeErr(op, s)
	}
	oshape := g.outShape(sh[0], sh[1])
	y, err := New(oshape, out)
	if err != nil {
		return nil, nil, err
	}
	ind, err := New(oshape, idx)
	return y, ind, err
}

func maxPoolArg[T float32 | float64](out []T, idx []int64, x []T, nc int, g geom, lowest T, columnMajor bool) []T {
	I := g.inSize()
	D, H, W := g.in[0], g.in[1], g.in[2]
	o := 0
	for c := 0; c < nc; c++ {
		xc := x[c*I : (c+1)*I]
		for od := 0; od < g.out[0]; od++ {
			for oh := 0; oh < g.out[1]; oh++ {
				for ow := 0; ow < g.out[2]; ow++ {
					m, at, seen := lowest, 0, false
					for kd := 0; kd < g.k[0]; kd++ {
						id := od*g.s[0] - g.pb[0] + kd*g.d[0]
						if id < 0 || id >= D {
							continue
						}
						for kh := 0; kh < g.k[1]; kh++ {
							ih := oh*g.s[1] - g.pb[1] + kh*g.d[1]
							if ih < 0 || ih >= H {
								continue
							}
							for kw := 0; kw < g.k[2]; kw++ {
								iw := ow*g.s[2] - g.pb[2] + kw*g.d[2]
								if iw < 0 || iw >= W {
									continue
								}
								if v := xc[(id*H+ih)*W+iw]; !seen || v > m || v != v {
									m, seen = v, true
									at = (id*H+ih)*W + iw
									if columnMajor {
										at = (iw*H+ih)*D + id
									}
								}
							}
						}
					}
					out[o], idx[o] = m, int64(c*I+at)
					o++
				}
			}
		}
	}
	return out
}
