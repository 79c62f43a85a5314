package interp

import (
	"fmt"
	"math"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/calib/kernels"
)

// Window functions, LRN and ReverseSequence: small ops computed directly.
func signalOps(t map[string]opBuilder) {
	for op, coef := range map[string][3]float64{
		"HannWindow":     {0.5, 0.5, 0},
		"HammingWindow":  {25.0 / 46, 21.0 / 46, 0},
		"BlackmanWindow": {0.42, 0.5, 0.08},
	} {
		t[op] = func(c *buildCtx) (kernel, error) {
			periodic := c.n.AttrInt("periodic", 1) != 0
			dt, ok := dtypeOf(int32(c.n.AttrInt("output_datatype", int64(dtFloat))))
			if !ok {
				return nil, unsupportedf("%s output_datatype %d", op, c.n.AttrInt("output_datatype", 0))
			}
			return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
				n, err := scalarFloat(in[0])
				if err != nil {
					return nil, fmt.Errorf("size: %w", err)
				}
				size := int(n)
				den := float64(size)
				if !periodic {
					den--
				}
				w := make([]float32, size)
				for i := range w {
					x := 2 * math.Pi * float64(i) / den
					w[i] = float32(coef[0] - coef[1]*math.Cos(x) + coef[2]*math.Cos(2*x))
				}
				d, err := newDense([]int{size}, w)
				if err != nil {
					return nil, err
				}
				return one(kernels.Cast(d, dt))
			}, nil
		}
	}
	t["LRN"] = func(c *buildCtx) (kernel, error) {
		alpha, beta := float64(c.n.AttrFloat("alpha", 1e-4)), float64(c.n.AttrFloat("beta", 0.75))
		bias, size := float64(c.n.AttrFloat("bias", 1)), int(c.n.AttrInt("size", 1))
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(lrn(in[0], alpha, beta, bias, size))
		}, nil
	}
	t["ReverseSequence"] = func(c *buildCtx) (kernel, error) {
		batchAxis, timeAxis := int(c.n.AttrInt("batch_axis", 1)), int(c.n.AttrInt("time_axis", 0))
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(reverseSequence(in[0], in[1], batchAxis, timeAxis))
		}, nil
	}
}

// lrn is local response normalization across channels (axis 1).
func lrn(x *tensor.Dense, alpha, beta, bias float64, size int) (*tensor.Dense, error) {
	xs, err := kernels.Float32s(x)
	if err != nil {
		return nil, err
	}
	sh := dims(x)
	if len(sh) < 3 {
		return nil, fmt.Errorf("LRN input %v must have rank >= 3", sh)
	}
	n, ch, inner := sh[0], sh[1], prod(sh[2:])
	lo, hi := (size-1)/2, (size+1)/2-1
	if size%2 == 0 {
		hi = size / 2
	}
	out := make([]float32, len(xs))
	for b := 0; b < n; b++ {
		for c := 0; c < ch; c++ {
			for i := 0; i < inner; i++ {
				var sq float64
				for k := max(0, c-lo); k <= min(ch-1, c+hi); k++ {
					v := float64(xs[(b*ch+k)*inner+i])
					sq += v * v
				}
				idx := (b*ch+c)*inner + i
				out[idx] = float32(float64(xs[idx]) / math.Pow(bias+alpha/float64(size)*sq, beta))
			}
		}
	}
	return newDense(sh, out)
}

// reverseSequence reverses the first seqLens[b] steps along timeAxis of
// every batch entry b.
func reverseSequence(x, lens *tensor.Dense, batchAxis, timeAxis int) (*tensor.Dense, error) {
	sh := dims(x)
	l, err := kernels.Ints(lens)
	if err != nil {
		return nil, err
	}
	if len(sh) < 2 || batchAxis > 1 || timeAxis > 1 || batchAxis == timeAxis {
		return nil, fmt.Errorf("ReverseSequence needs batch and time axes 0 and 1, got %d and %d", batchAxis, timeAxis)
	}
	st := make([]int, len(sh))
	acc := 1
	for i := len(sh) - 1; i >= 0; i-- {
		st[i] = acc
		acc *= sh[i]
	}
	inner := prod(sh[2:])
	idx := make([]int, prod(sh))
	for i := range idx {
		idx[i] = i
	}
	for b := 0; b < sh[batchAxis] && b < len(l); b++ {
		for t := 0; t < l[b]; t++ {
			src := b*st[batchAxis] + (l[b]-1-t)*st[timeAxis]
			dst := b*st[batchAxis] + t*st[timeAxis]
			for i := 0; i < inner; i++ {
				idx[dst+i] = src + i
			}
		}
	}
	return gatherFlat(x, sh, idx)
}

// gatherFlat builds a tensor of shape sh with out[i] = flat(x)[idx[i]].
func gatherFlat(x *tensor.Dense, sh, idx []int) (*tensor.Dense, error) {
	src := flat(x)
	parts := make([]any, len(idx))
	for i, j := range idx {
		parts[i] = subFlat(src, j, j+1)
	}
	data, err := concatFlat(parts)
	if err != nil {
		return nil, err
	}
	return newDense(sh, data)
}
