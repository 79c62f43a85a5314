package kernels

import (
	"fmt"
	"math"

	"gorgonia.org/tensor"
)

// BatchNormalization is inference-mode BatchNormalization: x [N, C, ...] with
// per-channel scale, bias, mean and var ([C] each).
func BatchNormalization(x, scale, bias, mean, variance *tensor.Dense, epsilon float32) (*tensor.Dense, error) {
	return BatchNormalizationWith(nil, x, scale, bias, mean, variance, epsilon)
}

// BatchNormalizationWith is BatchNormalization writing into a buffer from alloc.
func BatchNormalizationWith(alloc Alloc, x, scale, bias, mean, variance *tensor.Dense, epsilon float32) (*tensor.Dense, error) {
	const op = "BatchNormalization"
	xs, sh, err := f32in(op, x)
	if err != nil {
		return nil, err
	}
	if len(sh) < 2 {
		return nil, shapeErr(op, "input %v must have rank >= 2", sh)
	}
	C := sh[1]
	var p [4][]float32
	for i, t := range []*tensor.Dense{scale, bias, mean, variance} {
		s, tsh, err := f32in(op, t)
		if err != nil {
			return nil, err
		}
		if prod(tsh) != C {
			return nil, shapeErr(op, "parameter %d has shape %v, want [%d]", i+1, tsh, C)
		}
		p[i] = s
	}
	inner := prod(sh[2:])
	out := alloc.f32(len(xs))
	for nc := 0; nc < sh[0]*C; nc++ {
		c := nc % C
		a := float32(float64(p[0][c]) / math.Sqrt(float64(p[3][c])+float64(epsilon)))
		bb := p[1][c] - p[2][c]*a
		src, dst := xs[nc*inner:(nc+1)*inner], out[nc*inner:(nc+1)*inner]
		for i, v := range src {
			dst[i] = v*a + bb
		}
	}
	return New(sh, out)
}

// BatchNormalizationTraining is BatchNormalization with training_mode=1:
// x is normalized with its own per-channel mean and (population) variance,
// and the outputs after Y are the running statistics updated with
// momentum, running*momentum + current*(1-momentum).
func BatchNormalizationTraining(x, scale, bias, runMean, runVar *tensor.Dense, epsilon, momentum float32) ([]*tensor.Dense, error) {
	const op = "BatchNormalization"
	xs, sh, err := f32in(op, x)
	if err != nil {
		return nil, err
	}
	if len(sh) < 2 {
		return nil, shapeErr(op, "input %v must have rank >= 2", sh)
	}
	C, inner := sh[1], prod(sh[2:])
	rm, _, err := f32in(op, runMean)
	if err != nil {
		return nil, err
	}
	rv, _, err := f32in(op, runVar)
	if err != nil {
		return nil, err
	}
	if len(rm) != C || len(rv) != C {
		return nil, shapeErr(op, "running statistics of %d and %d values for %d channels", len(rm), len(rv), C)
	}
	mean, variance := make([]float32, C), make([]float32, C)
	count := float64(sh[0] * inner)
	for c := 0; c < C; c++ {
		var s, ss float64
		for n := 0; n < sh[0]; n++ {
			for _, v := range xs[(n*C+c)*inner : (n*C+c+1)*inner] {
				s += float64(v)
			}
		}
		m := s / count
		for n := 0; n < sh[0]; n++ {
			for _, v := range xs[(n*C+c)*inner : (n*C+c+1)*inner] {
				ss += (float64(v) - m) * (float64(v) - m)
			}
		}
		mean[c], variance[c] = float32(m), float32(ss/count)
	}
	cm, _ := New([]int{C}, mean)
	cv, _ := New([]int{C}, variance)
	y, err := BatchNormalization(x, scale, bias, cm, cv, epsilon)
	if err != nil {
		return nil, err
	}
	newMean, newVar := make([]float32, C), make([]float32, C)
	for c := range newMean {
		newMean[c] = rm[c]*momentum + mean[c]*(1-momentum)
		newVar[c] = rv[c]*momentum + variance[c]*(1-momentum)
	}
	om, _ := New([]int{C}, newMean)
	ov, _ := New([]int{C}, newVar)
	return []*tensor.Dense{y, om, ov}, nil
}

// LayerNormalization normalizes over dims [axis, rank) and applies scale and
// optional bias (broadcast to those dims). It also returns Mean and InvStdDev,
// shaped like x with 1s in the normalized dims (ONNX optional outputs 2 and 3).
func LayerNormalization(x, scale, bias *tensor.Dense, axis int, epsilon float32) (y, mean, invStd *tensor.Dense, err error) {
	const op = "LayerNormalization"
	xs, sh, err := f32in(op, x)
	if err != nil {
		return nil, nil, nil, err
	}
	if axis, err = normAxis(op, axis, len(sh)); err != nil {
		return nil, nil, nil, err
	}
	norm := sh[axis:]
	inner := prod(norm)
	outer := len(xs) / inner
	sc, err := paramTo(op, scale, norm)
	if err != nil {
		return nil, nil, nil, err
	}
	var bi []float32
	if bias != nil {
		if bi, err = paramTo(op, bias, norm); err != nil {
			return nil, nil, nil, err
		}
	}
	out := make([]float32, len(xs))
	mv, iv := make([]float32, outer), make([]float32, outer)
	for o := 0; o < outer; o++ {
		src, dst := xs[o*inner:(o+1)*inner], out[o*inner:(o+1)*inner]
		m, inv := meanInvStd(src, float64(epsilon))
		mv[o], iv[o] = float32(m), float32(inv)
		for i, v := range src {
			r := float32((float64(v) - m) * inv)
			r *= sc[i]
			if bi != nil {
				r += bi[i]
			}
			dst[i] = r
		}
	}
	rsh := append([]int(nil), sh...)
	for i := axis; i < len(rsh); i++ {
		rsh[i] = 1
	}
	if y, err = New(sh, out); err != nil {
		return nil, nil, nil, err
	}
	mean, _ = New(rsh, mv)
	invStd, _ = New(rsh, iv)
	return y, mean, invStd, nil
}

// paramTo broadcasts a float32 parameter to shape to (unidirectionally).
func paramTo(op string, t *tensor.Dense, to []int) ([]float32, error) {
	s, sh, err := f32in(op, t)
	if err != nil {
		return nil, err
	}
	if equalInts(sh, to) || (prod(sh) == prod(to) && len(sh) <= len(to) && canBroadcastTo(sh, to)) {
		return s, nil
	}
	if !canBroadcastTo(sh, to) {
		return nil, shapeErr(op, "parameter %v does not broadcast to %v", sh, to)
	}
	idx := bcastIndex(sh, to)
	r := make([]float32, len(idx))
	for i, j := range idx {
		r[i] = s[j]
	}
	return r, nil
}

// meanInvStd returns the mean and 1/sqrt(var+eps) of s (population variance), in float64.
func meanInvStd(s []float32, eps float64) (float64, float64) {
	var sum float64
	for _, v := range s {
		sum += float64(v)
	}
	m := sum / float64(len(s))
	var ss float64
	for _, v := range s {
		d := float64(v) - m
		ss += d * d
	}
	return m, 1 / math.Sqrt(ss/float64(len(s))+eps)
}

// InstanceNormalization normalizes each [n, c] plane, then applies per-channel scale and bias.
func InstanceNormalization(x, scale, bias *tensor.Dense, epsilon float32) (*tensor.Dense, error) {
	const op = "InstanceNormalization"
	xs, sh, err := f32in(op, x)
	if err != nil {
		return nil, err
	}
	if len(sh) < 3 {
		return nil, shapeErr(op, "input %v must have rank >= 3", sh)
	}
	C := sh[1]
	sc, bi, err := scaleAndBias(op, scale, bias, C)
	if err != nil {
		return nil, err
	}
	inner := prod(sh[2:])
	out := make([]float32, len(xs))
	for nc := 0; nc < sh[0]*C; nc++ {
		c := nc % C
		src, dst := xs[nc*inner:(nc+1)*inner], out[nc*inner:(nc+1)*inner]
		m, inv := meanInvStd(src, float64(epsilon))
		for i, v := range src {
			dst[i] = float32((float64(v)-m)*inv)*sc[c] + bi[c]
		}
	}
	return New(sh, out)
}

// GroupNormalization normalizes x [N, C, ...] over groups of C/numGroups
// channels. perChannel selects the opset-21 form (scale and bias are [C]); the
// opset-18 form has them per group ([numGroups]).
func GroupNormalization(x, scale, bias *tensor.Dense, numGroups int, epsilon float32, perChannel bool) (*tensor.Dense, error) {
	const op = "GroupNormalization"
	xs, sh, err := f32in(op, x)
	if err != nil {
		return nil, err
	}
	if len(sh) < 2 || numGroups < 1 || sh[1]%numGroups != 0 {
		return nil, shapeErr(op, "input %v cannot be split into %d groups", sh, numGroups)
	}
	C := sh[1]
	want := numGroups
	if perChannel {
		want = C
	}
	sc, bi, err := scaleAndBias(op, scale, bias, want)
	if err != nil {
		return nil, err
	}
	inner := prod(sh[2:])
	cg := C / numGroups
	gsz := cg * inner
	out := make([]float32, len(xs))
	for ng := 0; ng < sh[0]*numGroups; ng++ {
		g := ng % numGroups
		src, dst := xs[ng*gsz:(ng+1)*gsz], out[ng*gsz:(ng+1)*gsz]
		m, inv := meanInvStd(src, float64(epsilon))
		for i, v := range src {
			k := g
			if perChannel {
				k = g*cg + i/inner
			}
			dst[i] = float32((float64(v)-m)*inv)*sc[k] + bi[k]
		}
	}
	return New(sh, out)
}

// MeanVarianceNormalization computes (x - mean) / sqrt(var) over axes, with
// the epsilon-free formula of ONNX's reference implementation (1e-9 added to
// the deviation).
func MeanVarianceNormalization(x *tensor.Dense, axes []int) (*tensor.Dense, error) {
	mean, err := ReduceMean(x, axes, true, false)
	if err != nil {
		return nil, err
	}
	d, err := Sub(x, mean)
	if err != nil {
		return nil, err
	}
	sq, err := Mul(d, d)
	if err != nil {
		return nil, err
	}
	v, err := ReduceMean(sq, axes, true, false)
	if err != nil {
		return nil, err
	}
	std, err := Float32Map("MeanVarianceNormalization", v, func(f float64) float64 { return math.Sqrt(f) + 1e-9 })
	if err != nil {
		return nil, err
	}
	return Div(d, std)
}

// LRN is local response normalization across channels (axis 1).
func LRN(x *tensor.Dense, alpha, beta, bias float64, size int) (*tensor.Dense, error) {
	xs, err := Float32s(x)
	if err != nil {
		return nil, err
	}
	sh := Dims(x)
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
	return New(sh, out)
}

// scaleAndBias reads a normalization's affine parameters, each of which must
// hold exactly n values (per channel or per group).
func scaleAndBias(op string, scale, bias *tensor.Dense, n int) (sc, bi []float32, err error) {
	sc, ssh, err := f32in(op, scale)
	if err != nil {
		return nil, nil, err
	}
	bi, bsh, err := f32in(op, bias)
	if err != nil {
		return nil, nil, err
	}
	if prod(ssh) != n || prod(bsh) != n {
		return nil, nil, shapeErr(op, "scale %v and bias %v must be [%d]", ssh, bsh, n)
	}
	return sc, bi, nil
}
