package kernels

import (
	"gorgonia.org/tensor"
)

// Index-driven gather and scatter kernels.

// GatherND is ONNX GatherND with batch_dims.
func GatherND(x, indices *tensor.Dense, batchDims int) (*tensor.Dense, error) {
	const op = "GatherND"
	xsh, ish := Dims(x), Dims(indices)
	idx, err := Ints(indices)
	if err != nil {
		return nil, err
	}
	if len(ish) == 0 || batchDims >= len(ish) || batchDims >= len(xsh) {
		return nil, shapeErr(op, "indices %v, data %v, batch_dims %d", ish, xsh, batchDims)
	}
	m := ish[len(ish)-1]
	if batchDims+m > len(xsh) {
		return nil, shapeErr(op, "index depth %d too large for data %v", m, xsh)
	}
	slice := prod(xsh[batchDims+m:])
	outShape := append(append([]int(nil), ish[:len(ish)-1]...), xsh[batchDims+m:]...)
	xst := strides(xsh)
	batch := prod(xsh[:batchDims])
	perBatch := prod(ish[batchDims : len(ish)-1])
	var take []int
	for b := 0; b < batch; b++ {
		for q := 0; q < perBatch; q++ {
			tup := idx[(b*perBatch+q)*m : (b*perBatch+q+1)*m]
			off := b * prod(xsh[batchDims:])
			for j, v := range tup {
				d := xsh[batchDims+j]
				if v < 0 {
					v += d
				}
				if v < 0 || v >= d {
					return nil, shapeErr(op, "index %d out of range for dim %d", tup[j], d)
				}
				off += v * xst[batchDims+j]
			}
			for e := 0; e < slice; e++ {
				take = append(take, off+e)
			}
		}
	}
	out, err := takeAny(op, Flat(x), take)
	if err != nil {
		return nil, err
	}
	return New(outShape, out)
}

func takeAny(op string, src any, idx []int) (any, error) { return take(op, src, idx) }

// ScatterElements is ONNX ScatterElements (and the deprecated Scatter) with
// reduction "none", "add", "mul", "max" or "min".
func ScatterElements(x, indices, updates *tensor.Dense, axis int, reduction string) (*tensor.Dense, error) {
	const op = "ScatterElements"
	xsh, ish := Dims(x), Dims(indices)
	a, err := normAxis(op, axis, len(xsh))
	if err != nil {
		return nil, err
	}
	idx, err := Ints(indices)
	if err != nil {
		return nil, err
	}
	xst, ist := strides(xsh), strides(ish)
	targets := make([]int, len(idx))
	for p, v := range idx {
		off := 0
		rem := p
		for d := range ish {
			c := rem / ist[d]
			rem %= ist[d]
			if d == a {
				if v < 0 {
					v += xsh[a]
				}
				if v < 0 || v >= xsh[a] {
					return nil, shapeErr(op, "index %d out of range for dim %d", idx[p], xsh[a])
				}
				c = v
			}
			off += c * xst[d]
		}
		targets[p] = off
	}
	return scatterInto(op, x, updates, targets, reduction)
}

// ScatterND is ONNX ScatterND.
func ScatterND(x, indices, updates *tensor.Dense, reduction string) (*tensor.Dense, error) {
	const op = "ScatterND"
	xsh, ish := Dims(x), Dims(indices)
	idx, err := Ints(indices)
	if err != nil {
		return nil, err
	}
	m := ish[len(ish)-1]
	slice := prod(xsh[m:])
	xst := strides(xsh)
	var targets []int
	for q := 0; q < prod(ish[:len(ish)-1]); q++ {
		off := 0
		for j, v := range idx[q*m : (q+1)*m] {
			if v < 0 {
				v += xsh[j]
			}
			off += v * xst[j]
		}
		for e := 0; e < slice; e++ {
			targets = append(targets, off+e)
		}
	}
	return scatterInto(op, x, updates, targets, reduction)
}

func scatterInto(op string, x, updates *tensor.Dense, targets []int, reduction string) (*tensor.Dense, error) {
	out := cloneSlice(Flat(x))
	switch d := out.(type) {
	case []float32:
		u, ok := Flat(updates).([]float32)
		if !ok || len(u) != len(targets) {
			return nil, shapeErr(op, "updates do not match indices")
		}
		for i, t := range targets {
			switch reduction {
			case "add":
				d[t] += u[i]
			case "mul":
				d[t] *= u[i]
			case "max":
				d[t] = max(d[t], u[i])
			case "min":
				d[t] = min(d[t], u[i])
			default:
				d[t] = u[i]
			}
		}
	default:
		if reduction != "" && reduction != "none" {
			return nil, dtypeErr(op, d)
		}
		u := Flat(updates)
		for i, t := range targets {
			setFrom(out, t, u, i)
		}
	}
	return New(Dims(x), out)
}

// Compress keeps the slices along axis (or of the flattened input when axis
// is nil) whose condition is true.
func Compress(x, cond *tensor.Dense, axis *int) (*tensor.Dense, error) {
	const op = "Compress"
	c, ok := Flat(cond).([]bool)
	if !ok {
		return nil, dtypeErr(op, Flat(cond))
	}
	sh := Dims(x)
	if axis == nil {
		sh = []int{prod(sh)}
	}
	a := 0
	if axis != nil {
		var err error
		if a, err = normAxis(op, *axis, len(sh)); err != nil {
			return nil, err
		}
	}
	outer, n, inner := prod(sh[:a]), sh[a], prod(sh[a+1:])
	var keep []int
	for j := 0; j < n && j < len(c); j++ {
		if c[j] {
			keep = append(keep, j)
		}
	}
	var idx []int
	for o := 0; o < outer; o++ {
		for _, j := range keep {
			for i := 0; i < inner; i++ {
				idx = append(idx, (o*n+j)*inner+i)
			}
		}
	}
	out, err := take(op, Flat(x), idx)
	if err != nil {
		return nil, err
	}
	osh := append([]int(nil), sh...)
	osh[a] = len(keep)
	return New(osh, out)
}
