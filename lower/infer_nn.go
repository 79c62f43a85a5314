package lower

import (
	"fmt"
	"math"
	"slices"
)

// Shape rules for the convolution, pooling and matrix operators.

func inferLayerNorm(n *Node, x vtype) []vtype {
	stat := vtype{dtype: int32(n.AttrInt("stash_type", int64(dtFloat)))}
	if x.known {
		if ax, err := normAxis(n.AttrInt("axis", -1), len(x.shape)); err == nil {
			stat.shape = slices.Clone(x.shape)
			for i := ax; i < len(stat.shape); i++ {
				stat.shape[i] = Dim{Value: 1}
			}
			stat.known = true
		}
	}
	return []vtype{x, stat, stat}
}

// spatialParams reads kernel, strides, dilations and pads for nsp spatial
// dimensions, with ONNX defaults.
func spatialParams(n *Node, kernel []int64, nsp int) (strides, dil, pads []int64) {
	strides = n.AttrInts("strides", nil)
	if len(strides) != nsp {
		strides = ones(nsp)
	}
	dil = n.AttrInts("dilations", nil)
	if len(dil) != nsp {
		dil = ones(nsp)
	}
	pads = n.AttrInts("pads", nil)
	if len(pads) != 2*nsp {
		pads = make([]int64, 2*nsp)
	}
	return strides, dil, pads
}

func ones(n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = 1
	}
	return out
}

// windowOut computes the spatial output sizes of a sliding window.
func windowOut(n *Node, x vtype, kernel []int64, ceil bool) []Dim {
	nsp := len(x.shape) - 2
	strides, dil, pads := spatialParams(n, kernel, nsp)
	autoPad := n.AttrString("auto_pad", "NOTSET")
	out := make([]Dim, nsp)
	for i := 0; i < nsp; i++ {
		d := x.shape[2+i]
		if !d.Known() || i >= len(kernel) {
			out[i] = UnknownDim()
			continue
		}
		in := d.Value
		switch autoPad {
		case "SAME_UPPER", "SAME_LOWER":
			out[i] = Dim{Value: (in + strides[i] - 1) / strides[i]}
			continue
		case "VALID":
			pads[i], pads[i+nsp] = 0, 0
		}
		eff := dil[i]*(kernel[i]-1) + 1
		span := in + pads[i] + pads[i+nsp] - eff
		var o int64
		if ceil {
			o = int64(math.Ceil(float64(span)/float64(strides[i]))) + 1
			// The last window must start inside the input or left padding.
			if (o-1)*strides[i] >= in+pads[i] {
				o--
			}
		} else {
			o = span/strides[i] + 1
		}
		out[i] = Dim{Value: o}
	}
	return out
}

func inferConv(n *Node, x, w vtype) ([]vtype, error) {
	t := vtype{dtype: x.dtype}
	if !x.known || len(x.shape) < 3 {
		return []vtype{t}, nil
	}
	kernel := n.AttrInts("kernel_shape", nil)
	if kernel == nil && w.known && len(w.shape) == len(x.shape) {
		for _, d := range w.shape[2:] {
			if !d.Known() {
				kernel = nil
				break
			}
			kernel = append(kernel, d.Value)
		}
	}
	m := UnknownDim()
	if w.known && len(w.shape) == len(x.shape) {
		m = w.shape[0]
		group := n.AttrInt("group", 1)
		if x.shape[1].Known() && w.shape[1].Known() && x.shape[1].Value != w.shape[1].Value*group {
			return nil, fmt.Errorf("input has %d channels, weights expect %d x group %d", x.shape[1].Value, w.shape[1].Value, group)
		}
	}
	t.shape = append([]Dim{x.shape[0], m}, windowOut(n, x, kernel, false)...)
	t.known = true
	return []vtype{t}, nil
}

func inferConvTranspose(n *Node, x, w vtype) ([]vtype, error) {
	t := vtype{dtype: x.dtype}
	if !x.known || len(x.shape) < 3 || !w.known || len(w.shape) != len(x.shape) {
		return []vtype{t}, nil
	}
	nsp := len(x.shape) - 2
	group := n.AttrInt("group", 1)
	m := UnknownDim()
	if w.shape[1].Known() {
		m = Dim{Value: w.shape[1].Value * group}
	}
	kernel := n.AttrInts("kernel_shape", nil)
	if kernel == nil {
		for _, d := range w.shape[2:] {
			kernel = append(kernel, d.Value)
		}
	}
	strides, dil, pads := spatialParams(n, kernel, nsp)
	outPad := n.AttrInts("output_padding", nil)
	if len(outPad) != nsp {
		outPad = make([]int64, nsp)
	}
	outShape := n.AttrInts("output_shape", nil)
	t.shape = []Dim{x.shape[0], m}
	for i := 0; i < nsp; i++ {
		d := x.shape[2+i]
		switch {
		case len(outShape) == nsp:
			t.shape = append(t.shape, Dim{Value: outShape[i]})
		case !d.Known() || kernel[i] < 0:
			t.shape = append(t.shape, UnknownDim())
		case n.AttrString("auto_pad", "NOTSET") == "SAME_UPPER" || n.AttrString("auto_pad", "NOTSET") == "SAME_LOWER":
			t.shape = append(t.shape, Dim{Value: d.Value * strides[i]})
		default:
			o := strides[i]*(d.Value-1) + outPad[i] + (kernel[i]-1)*dil[i] + 1 - pads[i] - pads[i+nsp]
			t.shape = append(t.shape, Dim{Value: o})
		}
	}
	t.known = true
	return []vtype{t}, nil
}

func inferPool(n *Node, x vtype) ([]vtype, error) {
	t := vtype{dtype: x.dtype}
	if !x.known || len(x.shape) < 3 {
		return []vtype{t, {dtype: dtInt64}}, nil
	}
	kernel := n.AttrInts("kernel_shape", nil)
	t.shape = append([]Dim{x.shape[0], x.shape[1]}, windowOut(n, x, kernel, n.AttrInt("ceil_mode", 0) != 0)...)
	t.known = true
	return []vtype{t, {dtype: dtInt64, shape: t.shape, known: true}}, nil
}

func inferGemm(n *Node, a, b vtype) ([]vtype, error) {
	t := vtype{dtype: a.dtype}
	if !a.known || !b.known || len(a.shape) != 2 || len(b.shape) != 2 {
		return []vtype{t}, nil
	}
	m, ka := a.shape[0], a.shape[1]
	if n.AttrInt("transA", 0) != 0 {
		m, ka = ka, m
	}
	kb, nn := b.shape[0], b.shape[1]
	if n.AttrInt("transB", 0) != 0 {
		kb, nn = nn, kb
	}
	if _, err := sameDim(ka, kb); err != nil {
		return nil, fmt.Errorf("inner dimensions: %w", err)
	}
	t.shape, t.known = []Dim{m, nn}, true
	return []vtype{t}, nil
}

func inferMatMul(a, b vtype) (vtype, error) {
	t := vtype{dtype: a.dtype}
	if !a.known || !b.known || len(a.shape) == 0 || len(b.shape) == 0 {
		return t, nil
	}
	as, bs := a.shape, b.shape
	if len(as) == 1 {
		as = []Dim{{Value: 1}, as[0]}
	}
	if len(bs) == 1 {
		bs = []Dim{bs[0], {Value: 1}}
	}
	if _, err := sameDim(as[len(as)-1], bs[len(bs)-2]); err != nil {
		return t, fmt.Errorf("inner dimensions of %s and %s: %w", shapeString(a), shapeString(b), err)
	}
	batch, err := broadcastTypes(vtype{shape: as[:len(as)-2], known: true}, vtype{shape: bs[:len(bs)-2], known: true})
	if err != nil {
		return t, err
	}
	shape := batch.shape
	if len(a.shape) > 1 {
		shape = append(shape, as[len(as)-2])
	}
	if len(b.shape) > 1 {
		shape = append(shape, bs[len(bs)-1])
	}
	t.shape, t.known = shape, true
	return t, nil
}

func inferFlatten(n *Node, x vtype) ([]vtype, error) {
	if !x.known {
		return []vtype{{dtype: x.dtype, shape: unknownDims(2), known: true}}, nil
	}
	axis := n.AttrInt("axis", 1)
	if axis < 0 {
		axis += int64(len(x.shape))
	}
	if axis < 0 || axis > int64(len(x.shape)) {
		return nil, fmt.Errorf("axis %d out of range for rank %d", n.AttrInt("axis", 1), len(x.shape))
	}
	return []vtype{{dtype: x.dtype, shape: []Dim{mulDims(x.shape[:axis]), mulDims(x.shape[axis:])}, known: true}}, nil
}

func (inf *inferer) inferReshape(n *Node, x vtype) ([]vtype, error) {
	var entries []symDim
	if s, ok := inf.symOf(n.Inputs[1]); ok && !s.scalar {
		entries = s.elems
	} else if a := n.Attr("shape"); a != nil && len(n.Inputs) < 2 { // Reshape-1
		for _, v := range a.GetInts() {
			entries = append(entries, symDim{lit: true, v: v})
		}
	} else {
		s := inf.in(n, 1)
		if s.known && len(s.shape) == 1 && s.shape[0].Known() {
			return []vtype{{dtype: x.dtype, shape: unknownDims(int(s.shape[0].Value)), known: true}}, nil
		}
		return []vtype{{dtype: x.dtype}}, nil
	}
	target := make([]int64, len(entries))
	for i, e := range entries {
		target[i] = e.v
	}
	allowZero := n.AttrInt("allowzero", 0) != 0
	out := make([]Dim, len(entries))
	neg := -1
	for i, e := range entries {
		d := e.v
		switch {
		case !e.lit:
			out[i] = e.d
		case d == -1:
			if neg >= 0 {
				return nil, fmt.Errorf("shape %v has two -1", target)
			}
			neg = i
		case d == 0 && !allowZero:
			if !x.known {
				out[i] = UnknownDim()
			} else if i >= len(x.shape) {
				return nil, fmt.Errorf("shape %v copies dimension %d of a rank-%d input", target, i, len(x.shape))
			} else {
				out[i] = x.shape[i]
			}
		case d < 0:
			return nil, fmt.Errorf("shape %v has a negative size", target)
		default:
			out[i] = Dim{Value: d}
		}
	}
	total := UnknownDim()
	if x.known {
		total = mulDims(x.shape)
	}
	if neg >= 0 {
		rest := make([]Dim, 0, len(out))
		for i, d := range out {
			if i != neg {
				rest = append(rest, d)
			}
		}
		p := mulDims(rest)
		out[neg] = UnknownDim()
		if total.Known() && p.Known() {
			if p.Value == 0 || total.Value%p.Value != 0 {
				return nil, fmt.Errorf("cannot reshape %s to %v", shapeString(x), target)
			}
			out[neg] = Dim{Value: total.Value / p.Value}
		} else if x.known && len(rest) == len(x.shape)-1 {
			// The common "keep every dimension but one" case: if the other
			// dimensions are exactly the input's own, the -1 is the rest.
			out[neg] = reshapeRemaining(x.shape, out, neg)
		}
	} else if p := mulDims(out); total.Known() && p.Known() && p.Value != total.Value {
		return nil, fmt.Errorf("cannot reshape %s (%d elements) to %v", shapeString(x), total.Value, target)
	}
	return []vtype{{dtype: x.dtype, shape: out, known: true}}, nil
}

// reshapeRemaining finds the -1 of a reshape whose other dimensions are the
// input's dimensions in order except one, which is then the answer.
func reshapeRemaining(in, out []Dim, neg int) Dim {
	j := 0
	var missing []Dim
	for i, d := range out {
		if i == neg {
			continue
		}
		for j < len(in) && in[j] != d {
			missing = append(missing, in[j])
			j++
		}
		if j == len(in) {
			return UnknownDim()
		}
		j++
	}
	missing = append(missing, in[j:]...)
	if len(missing) == 1 {
		return missing[0]
	}
	return UnknownDim()
}

func inferTranspose(n *Node, x vtype) ([]vtype, error) {
	if !x.known {
		return []vtype{{dtype: x.dtype}}, nil
	}
	perm := n.AttrInts("perm", nil)
	r := len(x.shape)
	if perm == nil {
		for i := r - 1; i >= 0; i-- {
			perm = append(perm, int64(i))
		}
	}
	if len(perm) != r {
		return nil, fmt.Errorf("perm %v for a rank-%d input", perm, r)
	}
	shape := make([]Dim, r)
	for i, p := range perm {
		if p < 0 || p >= int64(r) {
			return nil, fmt.Errorf("perm %v out of range", perm)
		}
		shape[i] = x.shape[p]
	}
	return []vtype{{dtype: x.dtype, shape: shape, known: true}}, nil
}

func (inf *inferer) inferSqueeze(n *Node, x vtype) ([]vtype, error) {
	axes, ok := inf.axesOf(n, 1, "axes")
	if !ok || !x.known {
		return []vtype{{dtype: x.dtype}}, nil
	}
	drop := make([]bool, len(x.shape))
	if len(axes) == 0 {
		for i, d := range x.shape {
			if !d.Known() {
				return []vtype{{dtype: x.dtype}}, nil
			}
			drop[i] = d.Value == 1
		}
	}
	for _, a := range axes {
		ax, err := normAxis(a, len(x.shape))
		if err != nil {
			return nil, err
		}
		if d := x.shape[ax]; d.Known() && d.Value != 1 {
			return nil, fmt.Errorf("squeezes axis %d of size %d", a, d.Value)
		}
		drop[ax] = true
	}
	shape := []Dim{}
	for i, d := range x.shape {
		if !drop[i] {
			shape = append(shape, d)
		}
	}
	return []vtype{{dtype: x.dtype, shape: shape, known: true}}, nil
}

func inferConcat(n *Node, ins []vtype) ([]vtype, error) {
	t := vtype{}
	for _, in := range ins {
		if in.dtype != 0 {
			t.dtype = in.dtype
			break
		}
	}
	rank := -1
	for _, in := range ins {
		if in.known {
			rank = len(in.shape)
			break
		}
	}
	if rank < 0 {
		return []vtype{t}, nil
	}
	ax, err := normAxis(n.AttrInt("axis", 0), rank)
	if err != nil {
		return nil, err
	}
	shape := unknownDims(rank)
	sum := Dim{Value: 0}
	for k, in := range ins {
		if !in.known {
			sum = UnknownDim()
			continue
		}
		if len(in.shape) != rank {
			return nil, fmt.Errorf("inputs of ranks %d and %d", rank, len(in.shape))
		}
		for i, d := range in.shape {
			if i == ax {
				if sum.Known() && d.Known() {
					sum.Value += d.Value
				} else {
					sum = UnknownDim()
				}
				continue
			}
			if k == 0 {
				shape[i] = d
				continue
			}
			if shape[i], err = sameDim(shape[i], d); err != nil {
				return nil, fmt.Errorf("dimension %d: %w", i, err)
			}
		}
	}
	shape[ax] = sum
	t.shape, t.known = shape, true
	return []vtype{t}, nil
}

func inferGather(n *Node, x, idx vtype) ([]vtype, error) {
	if !x.known || !idx.known {
		return []vtype{{dtype: x.dtype}}, nil
	}
	ax, err := normAxis(n.AttrInt("axis", 0), len(x.shape))
	if err != nil {
		return nil, err
	}
	shape := append(append(slices.Clone(x.shape[:ax]), idx.shape...), x.shape[ax+1:]...)
	return []vtype{{dtype: x.dtype, shape: shape, known: true}}, nil
}
