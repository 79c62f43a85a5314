package kernels

import (
	"fmt"
	"math"

	"gorgonia.org/tensor"
)

// Element-wise and small data-movement kernels the interpreter needed for
// the ONNX node tests (written by the interpreter's author).

// bcast2 applies f to a and b broadcast together.
func bcast2[T, U any](a, b []T, as, bs, os []int, f func(T, T) U) []U {
	out := make([]U, prod(os))
	bcastRuns(os, [][]int{as, bs}, func(o int, offs []int, n int, steps []int) {
		ia, ib := offs[0], offs[1]
		for i := 0; i < n; i++ {
			out[o+i] = f(a[ia], b[ib])
			ia += steps[0]
			ib += steps[1]
		}
	})
	return out
}

func modInt[T int64 | int32 | int16 | int8](fmod bool) func(a, b T) T {
	return func(a, b T) T {
		if b == 0 {
			return 0
		}
		r := a % b
		if !fmod && r != 0 && (r < 0) != (b < 0) {
			r += b
		}
		return r
	}
}

func modUint[T uint8 | uint16 | uint32 | uint64](a, b T) T {
	if b == 0 {
		return 0
	}
	return a % b
}

func modFloat[T float32 | float64](fmod bool) func(a, b T) T {
	return func(a, b T) T {
		r := T(math.Mod(float64(a), float64(b)))
		if !fmod && r != 0 && (r < 0) != (b < 0) {
			r += b
		}
		return r
	}
}

// Mod is ONNX Mod: with fmod the remainder takes the dividend's sign (C
// fmod), otherwise the divisor's (Python %). Integer division by zero gives 0.
func Mod(a, b *tensor.Dense, fmod bool) (*tensor.Dense, error) {
	const op = "Mod"
	if a == nil || b == nil {
		return nil, shapeErr(op, "missing input")
	}
	as, bs := Dims(a), Dims(b)
	os, err := BroadcastShape(op, as, bs)
	if err != nil {
		return nil, err
	}
	var out any
	switch x := Flat(a).(type) {
	case []float32:
		out, err = withB(op, x, Flat(b), func(y []float32) any { return bcast2(x, y, as, bs, os, modFloat[float32](fmod)) })
	case []float64:
		out, err = withB(op, x, Flat(b), func(y []float64) any { return bcast2(x, y, as, bs, os, modFloat[float64](fmod)) })
	case []int64:
		out, err = withB(op, x, Flat(b), func(y []int64) any { return bcast2(x, y, as, bs, os, modInt[int64](fmod)) })
	case []int32:
		out, err = withB(op, x, Flat(b), func(y []int32) any { return bcast2(x, y, as, bs, os, modInt[int32](fmod)) })
	case []int16:
		out, err = withB(op, x, Flat(b), func(y []int16) any { return bcast2(x, y, as, bs, os, modInt[int16](fmod)) })
	case []int8:
		out, err = withB(op, x, Flat(b), func(y []int8) any { return bcast2(x, y, as, bs, os, modInt[int8](fmod)) })
	case []uint8:
		out, err = withB(op, x, Flat(b), func(y []uint8) any { return bcast2(x, y, as, bs, os, modUint[uint8]) })
	case []uint16:
		out, err = withB(op, x, Flat(b), func(y []uint16) any { return bcast2(x, y, as, bs, os, modUint[uint16]) })
	case []uint32:
		out, err = withB(op, x, Flat(b), func(y []uint32) any { return bcast2(x, y, as, bs, os, modUint[uint32]) })
	case []uint64:
		out, err = withB(op, x, Flat(b), func(y []uint64) any { return bcast2(x, y, as, bs, os, modUint[uint64]) })
	default:
		return nil, dtypeErr(op, x)
	}
	if err != nil {
		return nil, err
	}
	return New(os, out)
}

// withB checks that b has a's element type and runs f on it.
func withB[T any](op string, _ []T, b any, f func([]T) any) (any, error) {
	y, ok := b.([]T)
	if !ok {
		return nil, fmt.Errorf("%s: operands of different types (%T): %w", op, b, ErrDtype)
	}
	return f(y), nil
}

func shiftT[T uint8 | uint16 | uint32 | uint64](left bool) func(a, b T) T {
	return func(a, b T) T {
		if left {
			return a << b
		}
		return a >> b
	}
}

// BitShift is ONNX BitShift on unsigned integers.
func BitShift(a, b *tensor.Dense, left bool) (*tensor.Dense, error) {
	const op = "BitShift"
	if a == nil || b == nil {
		return nil, shapeErr(op, "missing input")
	}
	as, bs := Dims(a), Dims(b)
	os, err := BroadcastShape(op, as, bs)
	if err != nil {
		return nil, err
	}
	var out any
	switch x := Flat(a).(type) {
	case []uint8:
		out, err = withB(op, x, Flat(b), func(y []uint8) any { return bcast2(x, y, as, bs, os, shiftT[uint8](left)) })
	case []uint16:
		out, err = withB(op, x, Flat(b), func(y []uint16) any { return bcast2(x, y, as, bs, os, shiftT[uint16](left)) })
	case []uint32:
		out, err = withB(op, x, Flat(b), func(y []uint32) any { return bcast2(x, y, as, bs, os, shiftT[uint32](left)) })
	case []uint64:
		out, err = withB(op, x, Flat(b), func(y []uint64) any { return bcast2(x, y, as, bs, os, shiftT[uint64](left)) })
	default:
		return nil, dtypeErr(op, x)
	}
	if err != nil {
		return nil, err
	}
	return New(os, out)
}

// PRelu is ONNX PRelu: x where x >= 0, slope*x elsewhere, slope broadcast to x.
func PRelu(x, slope *tensor.Dense) (*tensor.Dense, error) {
	const op = "PRelu"
	xs, xsh, err := f32in(op, x)
	if err != nil {
		return nil, err
	}
	ss, ssh, err := f32in(op, slope)
	if err != nil {
		return nil, err
	}
	os, err := BroadcastShape(op, xsh, ssh)
	if err != nil {
		return nil, err
	}
	return New(os, bcast2(xs, ss, xsh, ssh, os, func(v, s float32) float32 {
		if v < 0 {
			return s * v
		}
		return v
	}))
}

// Float32Map applies f (computed in float64) to a float32 tensor; op names
// the operator in errors. It is the way to add a transcendental op without
// a dedicated kernel.
func Float32Map(op string, x *tensor.Dense, f func(float64) float64) (*tensor.Dense, error) {
	return mapF32(op, x, f)
}

// Classify returns a bool tensor with f applied to each float32 (or float64) element.
func Classify(op string, x *tensor.Dense, f func(float64) bool) (*tensor.Dense, error) {
	switch s := Flat(x).(type) {
	case []float32:
		out := make([]bool, len(s))
		for i, v := range s {
			out[i] = f(float64(v))
		}
		return New(Dims(x), out)
	case []float64:
		out := make([]bool, len(s))
		for i, v := range s {
			out[i] = f(v)
		}
		return New(Dims(x), out)
	}
	return nil, dtypeErr(op, Flat(x))
}

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
