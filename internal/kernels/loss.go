package kernels

import "gorgonia.org/tensor"

// Loss kernels (written by the interpreter's author for the ONNX node tests).

// NegativeLogLikelihoodLoss is ONNX NegativeLogLikelihoodLoss: x [N, C, d...]
// holds log-probabilities, target [N, d...] class indices, weight [C] is
// optional. reduction is "none", "sum" or "mean" (weighted mean over the
// elements whose target is not ignoreIndex, when that is set).
func NegativeLogLikelihoodLoss(x, target, weight *tensor.Dense, reduction string, ignoreIndex *int) (*tensor.Dense, error) {
	switch s := Flat(x).(type) {
	case []float32:
		return nllT(s, x, target, weight, reduction, ignoreIndex)
	case []float64:
		return nllT(s, x, target, weight, reduction, ignoreIndex)
	}
	return nil, dtypeErr("NegativeLogLikelihoodLoss", Flat(x))
}

func nllT[T float32 | float64](xs []T, x, target, weight *tensor.Dense, reduction string, ignoreIndex *int) (*tensor.Dense, error) {
	const op = "NegativeLogLikelihoodLoss"
	sh, tsh := Dims(x), Dims(target)
	if len(sh) < 2 || len(tsh) != len(sh)-1 || tsh[0] != sh[0] {
		return nil, shapeErr(op, "input %v and target %v do not fit", sh, tsh)
	}
	tg, err := Ints(target)
	if err != nil {
		return nil, err
	}
	var w []T
	if weight != nil {
		ws, ok := Flat(weight).([]T)
		if !ok || len(ws) != sh[1] {
			return nil, shapeErr(op, "weight must be [%d] of the input's type", sh[1])
		}
		w = ws
	}
	n, c, inner := sh[0], sh[1], prod(sh[2:])
	loss := make([]T, n*inner)
	var lossSum, wSum float64
	for i := 0; i < n; i++ {
		for d := 0; d < inner; d++ {
			k := tg[i*inner+d]
			if ignoreIndex != nil && k == *ignoreIndex {
				continue
			}
			if k < 0 || k >= c {
				return nil, shapeErr(op, "target %d out of range for %d classes", k, c)
			}
			wt := T(1)
			if w != nil {
				wt = w[k]
			}
			l := -xs[(i*c+k)*inner+d] * wt
			loss[i*inner+d] = l
			lossSum += float64(l)
			wSum += float64(wt)
		}
	}
	switch reduction {
	case "none":
		return New(tsh, loss)
	case "sum":
		return New(nil, []T{T(lossSum)})
	case "mean", "":
		if wSum == 0 {
			return New(nil, []T{0})
		}
		return New(nil, []T{T(lossSum / wSum)})
	}
	return nil, shapeErr(op, "reduction %q", reduction)
}

// SoftmaxCrossEntropyLoss is NegativeLogLikelihoodLoss of LogSoftmax(x) over
// axis 1; it also returns the log-probabilities, ONNX's optional second
// output.
func SoftmaxCrossEntropyLoss(x, target, weight *tensor.Dense, reduction string, ignoreIndex *int) (loss, logProb *tensor.Dense, err error) {
	logProb, err = LogSoftmax(x, 1, false)
	if err != nil {
		return nil, nil, err
	}
	loss, err = NegativeLogLikelihoodLoss(logProb, target, weight, reduction, ignoreIndex)
	if err != nil {
		return nil, nil, err
	}
	return loss, logProb, nil
}
