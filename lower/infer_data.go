package lower

import (
	"fmt"
	"math"
	"slices"
)

// Shape rules for the data-movement operators, which read constant inputs.

func (inf *inferer) inferSlice(n *Node, x vtype) ([]vtype, error) {
	t := vtype{dtype: x.dtype}
	if !x.known {
		return []vtype{t}, nil
	}
	var starts, ends, axes, steps []int64
	if len(n.Inputs) > 1 {
		s, e := inf.constOf(n, 1), inf.constOf(n, 2)
		a, st := inf.constOf(n, 3), inf.constOf(n, 4)
		if s == nil || e == nil || (len(n.Inputs) > 3 && n.Inputs[3] != nil && a == nil) ||
			(len(n.Inputs) > 4 && n.Inputs[4] != nil && st == nil) {
			// Unknown bounds: the rank stays; the sliced axes are unknown.
			t.shape, t.known = unknownDims(len(x.shape)), true
			if a != nil {
				t.shape = slices.Clone(x.shape)
				for _, ax := range a.ints() {
					if i, err := normAxis(ax, len(x.shape)); err == nil {
						t.shape[i] = UnknownDim()
					}
				}
			}
			return []vtype{t}, nil
		}
		starts, ends = s.ints(), e.ints()
		if a != nil {
			axes = a.ints()
		}
		if st != nil {
			steps = st.ints()
		}
	} else {
		starts, ends, axes = n.AttrInts("starts", nil), n.AttrInts("ends", nil), n.AttrInts("axes", nil)
	}
	if len(starts) != len(ends) {
		return nil, fmt.Errorf("%d starts for %d ends", len(starts), len(ends))
	}
	shape := slices.Clone(x.shape)
	for i := range starts {
		ax := int64(i)
		if axes != nil {
			ax = axes[i]
		}
		a, err := normAxis(ax, len(shape))
		if err != nil {
			return nil, err
		}
		step := int64(1)
		if steps != nil {
			step = steps[i]
		}
		if step == 0 {
			return nil, fmt.Errorf("step 0")
		}
		d := x.shape[a]
		switch {
		case d.Known():
			_, _, cnt := sliceBounds(starts[i], ends[i], step, d.Value)
			shape[a] = Dim{Value: cnt}
		case step == 1 && starts[i] == 0 && ends[i] >= math.MaxInt32:
			// The whole axis: the size carries over, symbol included.
		case step == 1 && starts[i] >= 0 && ends[i] >= 0 && ends[i] < math.MaxInt32 && ends[i] <= starts[i]:
			shape[a] = Dim{Value: 0}
		default:
			shape[a] = UnknownDim()
		}
	}
	t.shape, t.known = shape, true
	return []vtype{t}, nil
}

func (inf *inferer) inferSplit(n *Node, x vtype) ([]vtype, error) {
	outs := make([]vtype, len(n.Outputs))
	for i := range outs {
		outs[i].dtype = x.dtype
	}
	if !x.known {
		return outs, nil
	}
	ax, err := normAxis(n.AttrInt("axis", 0), len(x.shape))
	if err != nil {
		return nil, err
	}
	var split []int64
	if len(n.Inputs) > 1 && n.Inputs[1] != nil {
		c := inf.constOf(n, 1)
		if c == nil {
			for i := range outs {
				outs[i].shape, outs[i].known = slices.Clone(x.shape), true
				outs[i].shape[ax] = UnknownDim()
			}
			return outs, nil
		}
		split = c.ints()
	} else if a := n.Attr("split"); a != nil {
		split = a.GetInts()
	}
	d := x.shape[ax]
	if split == nil && d.Known() {
		k := int64(len(outs))
		chunk := (d.Value + k - 1) / k
		for i := int64(0); i < k; i++ {
			split = append(split, max(min(chunk, d.Value-i*chunk), 0))
		}
	}
	if split != nil && len(split) != len(outs) {
		return nil, fmt.Errorf("%d split sizes for %d outputs", len(split), len(outs))
	}
	var sum int64
	for i := range outs {
		outs[i].shape, outs[i].known = slices.Clone(x.shape), true
		outs[i].shape[ax] = UnknownDim()
		if split != nil {
			outs[i].shape[ax] = Dim{Value: split[i]}
			sum += split[i]
		}
	}
	if split != nil && d.Known() && sum != d.Value {
		return nil, fmt.Errorf("split sizes %v do not add up to %d", split, d.Value)
	}
	return outs, nil
}

func (inf *inferer) inferPad(n *Node, x vtype) ([]vtype, error) {
	t := vtype{dtype: x.dtype}
	if !x.known {
		return []vtype{t}, nil
	}
	r := len(x.shape)
	var pads []int64
	if len(n.Inputs) > 1 && n.Inputs[1] != nil {
		if c := inf.constOf(n, 1); c != nil {
			pads = c.ints()
		}
	} else {
		pads = n.AttrInts("pads", nil)
	}
	axes := make([]int, r)
	for i := range axes {
		axes[i] = i
	}
	if len(n.Inputs) > 3 && n.Inputs[3] != nil {
		c := inf.constOf(n, 3)
		if c == nil {
			pads = nil
		} else {
			axes = axes[:0]
			for _, a := range c.ints() {
				ax, err := normAxis(a, r)
				if err != nil {
					return nil, err
				}
				axes = append(axes, ax)
			}
		}
	}
	if pads == nil {
		t.shape, t.known = unknownDims(r), true
		return []vtype{t}, nil
	}
	if len(pads) != 2*len(axes) {
		return nil, fmt.Errorf("%d pads for %d axes", len(pads), len(axes))
	}
	shape := slices.Clone(x.shape)
	for i, ax := range axes {
		d := shape[ax]
		if d.Known() {
			shape[ax] = Dim{Value: d.Value + pads[i] + pads[i+len(axes)]}
		} else if pads[i]+pads[i+len(axes)] != 0 {
			shape[ax] = UnknownDim()
		}
	}
	t.shape, t.known = shape, true
	return []vtype{t}, nil
}

func (inf *inferer) inferExpand(n *Node, x vtype) ([]vtype, error) {
	c := inf.constOf(n, 1)
	if c == nil {
		s := inf.in(n, 1)
		if x.known && s.known && len(s.shape) == 1 && s.shape[0].Known() {
			return []vtype{{dtype: x.dtype, shape: unknownDims(max(len(x.shape), int(s.shape[0].Value))), known: true}}, nil
		}
		return []vtype{{dtype: x.dtype}}, nil
	}
	target := vtype{shape: dimsOf(c.ints()), known: true}
	// A 1 in the target keeps the input's size (symbol included).
	t, err := broadcastTypes(x, target)
	t.dtype = x.dtype
	return []vtype{t}, err
}

func (inf *inferer) inferTile(n *Node, x vtype) ([]vtype, error) {
	t := vtype{dtype: x.dtype}
	if !x.known {
		return []vtype{t}, nil
	}
	c := inf.constOf(n, 1)
	if c == nil {
		t.shape, t.known = unknownDims(len(x.shape)), true
		return []vtype{t}, nil
	}
	reps := c.ints()
	if len(reps) != len(x.shape) {
		return nil, fmt.Errorf("%d repeats for rank %d", len(reps), len(x.shape))
	}
	shape := slices.Clone(x.shape)
	for i, r := range reps {
		if shape[i].Known() {
			shape[i] = Dim{Value: shape[i].Value * r}
		} else if r != 1 {
			shape[i] = UnknownDim()
		}
	}
	t.shape, t.known = shape, true
	return []vtype{t}, nil
}

func (inf *inferer) inferReduce(n *Node, x vtype) ([]vtype, error) {
	axes, ok := inf.axesOf(n, 1, "axes")
	t := vtype{dtype: x.dtype}
	keep := n.AttrInt("keepdims", 1) != 0
	if !ok {
		if keep && x.known {
			t.shape, t.known = unknownDims(len(x.shape)), true
		}
		return []vtype{t}, nil
	}
	if len(axes) == 0 && n.AttrInt("noop_with_empty_axes", 0) != 0 {
		return []vtype{x}, nil
	}
	t, err := reduceShape(x, axes, len(axes) > 0, keep, true)
	return []vtype{t}, err
}

// reduceShape removes (or sets to 1 with keep) the reduced axes; no axes
// with all=true reduces every axis.
func reduceShape(x vtype, axes []int64, some, keep, all bool) (vtype, error) {
	t := vtype{dtype: x.dtype}
	if !x.known {
		return t, nil
	}
	red := make([]bool, len(x.shape))
	if !some && all {
		for i := range red {
			red[i] = true
		}
	}
	for _, a := range axes {
		ax, err := normAxis(a, len(x.shape))
		if err != nil {
			return t, err
		}
		red[ax] = true
	}
	shape := []Dim{}
	for i, d := range x.shape {
		switch {
		case !red[i]:
			shape = append(shape, d)
		case keep:
			shape = append(shape, Dim{Value: 1})
		}
	}
	t.shape, t.known = shape, true
	return t, nil
}

func (inf *inferer) inferTopK(n *Node, x vtype) ([]vtype, error) {
	t := vtype{dtype: x.dtype}
	if !x.known {
		return []vtype{t, {dtype: dtInt64}}, nil
	}
	ax, err := normAxis(n.AttrInt("axis", -1), len(x.shape))
	if err != nil {
		return nil, err
	}
	shape := slices.Clone(x.shape)
	shape[ax] = UnknownDim()
	if c := inf.constOf(n, 1); c != nil && c.Len() == 1 {
		shape[ax] = Dim{Value: c.int(0)}
	} else if k := n.Attr("k"); k != nil {
		shape[ax] = Dim{Value: k.GetI()}
	}
	t.shape, t.known = shape, true
	return []vtype{t, {dtype: dtInt64, shape: shape, known: true}}, nil
}

func (inf *inferer) inferResize(n *Node, x vtype) ([]vtype, error) {
	t := vtype{dtype: x.dtype}
	if !x.known {
		return []vtype{t}, nil
	}
	r := len(x.shape)
	var scales []float64
	var sizes []int64
	switch {
	case n.Target.OpType == "Upsample" && n.Attr("scales") != nil:
		for _, s := range n.AttrFloats("scales", nil) {
			scales = append(scales, float64(s))
		}
	case n.Target.OpType == "Upsample" || (n.Target.OpType == "Resize" && len(n.Inputs) == 2):
		if c := inf.constOf(n, 1); c != nil {
			scales = c.F
		}
	default:
		if c := inf.constOf(n, 3); c != nil && c.Len() > 0 {
			sizes = c.ints()
		} else if c := inf.constOf(n, 2); c != nil && c.Len() > 0 {
			scales = c.F
		}
	}
	axes := make([]int, r)
	for i := range axes {
		axes[i] = i
	}
	if a := n.AttrInts("axes", nil); a != nil {
		axes = axes[:0]
		for _, v := range a {
			ax, err := normAxis(v, r)
			if err != nil {
				return nil, err
			}
			axes = append(axes, ax)
		}
	}
	shape := slices.Clone(x.shape)
	switch {
	case sizes != nil && len(sizes) == len(axes) && n.AttrString("keep_aspect_ratio_policy", "stretch") == "stretch":
		for i, ax := range axes {
			shape[ax] = Dim{Value: sizes[i]}
		}
	case sizes != nil && len(sizes) == len(axes) && allKnown(shape, axes):
		// keep_aspect_ratio_policy: one scale, the smallest (not_larger)
		// or largest (not_smaller) of sizes/input, rounded half up.
		policy := n.AttrString("keep_aspect_ratio_policy", "stretch")
		scale := 0.0
		for i, ax := range axes {
			r := float64(sizes[i]) / float64(shape[ax].Value)
			if i == 0 || policy == "not_larger" && r < scale || policy == "not_smaller" && r > scale {
				scale = r
			}
		}
		for _, ax := range axes {
			shape[ax] = Dim{Value: int64(math.Floor(scale*float64(shape[ax].Value) + 0.5))}
		}
	case scales != nil && len(scales) == len(axes):
		for i, ax := range axes {
			if shape[ax].Known() {
				shape[ax] = Dim{Value: int64(math.Floor(float64(shape[ax].Value) * scales[i]))}
			} else if scales[i] != 1 {
				shape[ax] = UnknownDim()
			}
		}
	default:
		shape = unknownDims(r)
	}
	t.shape, t.known = shape, true
	return []vtype{t}, nil
}

func allKnown(shape []Dim, axes []int) bool {
	for _, ax := range axes {
		if !shape[ax].Known() || shape[ax].Value == 0 {
			return false
		}
	}
	return true
}

// inferRNN covers LSTM, GRU and RNN: Y, Y_h (and Y_c for LSTM). The batch
// comes from X, or from initial_h when X's shape is not known.
func inferRNN(n *Node, x, h0 vtype) []vtype {
	dt := x.dtype
	if dt == 0 {
		dt = h0.dtype
	}
	dirs := Dim{Value: 1}
	if n.AttrString("direction", "forward") == "bidirectional" {
		dirs = Dim{Value: 2}
	}
	hidden := Dim{Value: n.AttrInt("hidden_size", -1)}
	if hidden.Value < 0 {
		hidden = UnknownDim()
	}
	layout := n.AttrInt("layout", 0) != 0
	seq, batch := UnknownDim(), UnknownDim()
	switch {
	case x.known && len(x.shape) == 3:
		seq, batch = x.shape[0], x.shape[1]
		if layout {
			seq, batch = batch, seq
		}
	case h0.known && len(h0.shape) == 3:
		batch = h0.shape[1]
		if layout {
			batch = h0.shape[0]
		}
	default:
		return []vtype{{dtype: dt}, {dtype: dt}, {dtype: dt}}
	}
	var y, h []Dim
	if layout {
		y = []Dim{batch, seq, dirs, hidden}
		h = []Dim{batch, dirs, hidden}
	} else {
		y = []Dim{seq, dirs, batch, hidden}
		h = []Dim{dirs, batch, hidden}
	}
	return []vtype{{dtype: dt, shape: y, known: true}, {dtype: dt, shape: h, known: true}, {dtype: dt, shape: slices.Clone(h), known: true}}
}

func inferDepthSpace(n *Node, x vtype) []vtype {
	t := vtype{dtype: x.dtype}
	if !x.known || len(x.shape) != 4 {
		return []vtype{t}
	}
	b := n.AttrInt("blocksize", 1)
	c, h, w := x.shape[1], x.shape[2], x.shape[3]
	scale := func(d Dim, mul bool) Dim {
		if !d.Known() {
			return UnknownDim()
		}
		if mul {
			return Dim{Value: d.Value * b}
		}
		return Dim{Value: d.Value / b}
	}
	if n.Target.OpType == "DepthToSpace" {
		t.shape = []Dim{x.shape[0], scale(c, false), scale(h, true), scale(w, true)}
		if c.Known() {
			t.shape[1] = Dim{Value: c.Value / (b * b)}
		}
	} else {
		t.shape = []Dim{x.shape[0], scale(c, true), scale(h, false), scale(w, false)}
		if c.Known() {
			t.shape[1] = Dim{Value: c.Value * b * b}
		}
	}
	t.known = true
	return []vtype{t}
}
