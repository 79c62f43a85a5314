package qpass

import (
	"fmt"
	"slices"

	"github.com/onnxquant/onnxquant/lower"
)

// UnsupportedError says why a node the quantizer wants to decompose cannot
// be; callers can exclude the node from quantization and retry.
type UnsupportedError struct {
	Node   string // source name of the node
	OpType string
	Reason string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("node %q (%s) cannot be decomposed: %s", e.Node, e.OpType, e.Reason)
}

func unsupported(n *lower.Node, format string, args ...any) error {
	return &UnsupportedError{Node: n.Meta.SourceName, OpType: n.Target.OpType, Reason: fmt.Sprintf(format, args...)}
}

// recurrence is what LSTM and GRU share: the input, its static length, the
// per-direction weights, and how to put the step outputs back together.
type recurrence struct {
	n      *lower.Node
	e      *lower.Emitter
	x      *lower.Value // (seq, batch, input) after undoing layout 1
	seq    int
	hidden int
	dirs   int
	w, r   []float32 // (dirs, gates*H, I) and (dirs, gates*H, H)
	b      []float32 // (dirs, 2*gates*H), nil when absent
	in     int       // input size
}

// newRecurrence checks the attributes the decomposition relies on and
// reads the constant weights. gates is 4 for LSTM and 3 for GRU.
func newRecurrence(n *lower.Node, gates int, defaultActs []string) (*recurrence, error) {
	if len(n.Inputs) < 3 {
		return nil, unsupported(n, "needs inputs X, W and R")
	}
	rc := &recurrence{n: n}
	switch dir := n.AttrString("direction", "forward"); dir {
	case "forward", "reverse":
		rc.dirs = 1
	case "bidirectional":
		rc.dirs = 2
	default:
		return nil, unsupported(n, "unknown direction %q", dir)
	}
	if acts := n.AttrStrings("activations", nil); acts != nil {
		want := defaultActs
		if rc.dirs == 2 {
			want = append(slices.Clone(defaultActs), defaultActs...)
		}
		if !slices.Equal(acts, want) {
			return nil, unsupported(n, "activations %v (only the defaults %v are decomposed)", acts, defaultActs)
		}
	}
	if n.HasAttr("clip") {
		return nil, unsupported(n, "cell clipping is not decomposed")
	}
	if n.AttrInt("input_forget", 0) != 0 {
		return nil, unsupported(n, "input_forget is not decomposed")
	}
	w, wd, okW := n.Inputs[1].ConstantFloats()
	r, rd, okR := n.Inputs[2].ConstantFloats()
	if !okW || !okR || len(wd) != 3 || len(rd) != 3 {
		return nil, unsupported(n, "weights W and R must be constant float tensors")
	}
	rc.w, rc.r = w, r
	rc.hidden = int(rd[2])
	rc.in = int(wd[2])
	if int(wd[0]) != rc.dirs || int(wd[1]) != gates*rc.hidden || int(rd[1]) != gates*rc.hidden {
		return nil, unsupported(n, "weight shapes %v and %v do not match %d directions of hidden size %d", wd, rd, rc.dirs, rc.hidden)
	}
	if hs := n.AttrInt("hidden_size", int64(rc.hidden)); hs != int64(rc.hidden) {
		return nil, unsupported(n, "hidden_size %d does not match R's shape %v", hs, rd)
	}
	if len(n.Inputs) > 3 && n.Inputs[3] != nil {
		b, _, ok := n.Inputs[3].ConstantFloats()
		if !ok || len(b) != rc.dirs*2*gates*rc.hidden {
			return nil, unsupported(n, "bias B must be a constant float tensor of shape [%d, %d]", rc.dirs, 2*gates*rc.hidden)
		}
		rc.b = b
	}
	layout := n.AttrInt("layout", 0)
	seq, ok := dimOf(n.Inputs[0], int(layout))
	if !ok {
		return nil, unsupported(n, "the sequence length of input %q is not known statically; unrolling needs it", n.Inputs[0].Name)
	}
	rc.seq = int(seq)
	if len(n.Inputs) > 4 && n.Inputs[4] != nil {
		lens, ok := n.Inputs[4].ConstantInts()
		if !ok {
			return nil, unsupported(n, "sequence_lens must be constant")
		}
		for _, l := range lens {
			if l != seq {
				return nil, unsupported(n, "sequence_lens %v differ from the sequence length %d", lens, seq)
			}
		}
	}
	rc.e = lower.NewEmitter(n, n.Graph().Module.Opset(""))
	rc.x = n.Inputs[0]
	if layout != 0 {
		rc.x = rc.e.Op("Transpose", []*lower.Value{rc.x}, lower.IntsAttr("perm", 1, 0, 2))
	}
	return rc, nil
}

// transposed returns rows [from, to) of direction d of a (dirs, rows, cols)
// tensor, transposed to (cols, to-from), so MatMul(x, it) applies them.
func transposed(data []float32, d, rows, cols, from, to int) []float32 {
	out := make([]float32, cols*(to-from))
	base := d * rows * cols
	for i := from; i < to; i++ {
		for j := range cols {
			out[j*(to-from)+(i-from)] = data[base+i*cols+j]
		}
	}
	return out
}

// inputProjection emits MatMul(x, W[d]^T) + bias for all time steps at
// once, split into steps of shape (1, batch, gates*H).
func (rc *recurrence) inputProjection(d, gates int, bias []float32) []*lower.Value {
	e := rc.e
	gh := gates * rc.hidden
	wt := e.Floats("W_t", []int64{int64(rc.in), int64(gh)}, transposed(rc.w, d, gh, rc.in, 0, gh))
	xw := e.Op("MatMul", []*lower.Value{rc.x, wt})
	if bias != nil {
		xw = e.Op("Add", []*lower.Value{xw, e.Floats("B", []int64{int64(gh)}, bias)})
	}
	sizes := make([]int64, rc.seq)
	for i := range sizes {
		sizes[i] = 1
	}
	return e.Split(xw, 0, sizes)
}

// recurrentWeight is R[d] rows [from, to), transposed, as a constant.
func (rc *recurrence) recurrentWeight(d, gates, from, to int) *lower.Value {
	gh := gates * rc.hidden
	return rc.e.Floats("R_t", []int64{int64(rc.hidden), int64(to - from)}, transposed(rc.r, d, gh, rc.hidden, from, to))
}

// initialState returns direction d of an optional (dirs, batch, H) input
// ((batch, dirs, H) in layout 1) as (1, batch, H), or nil when absent
// (zeros).
func (rc *recurrence) initialState(i, d int) *lower.Value {
	n := rc.n
	if len(n.Inputs) <= i || n.Inputs[i] == nil {
		return nil
	}
	s := n.Inputs[i]
	if n.AttrInt("layout", 0) != 0 {
		// Batch-first states are (batch, dirs, H).
		s = rc.e.Op("Transpose", []*lower.Value{s}, lower.IntsAttr("perm", 1, 0, 2))
	}
	if rc.dirs == 1 {
		return s
	}
	return rc.e.Split(s, 0, []int64{1, 1})[d]
}

// order is the time steps direction d visits.
func (rc *recurrence) order(d int) []int {
	ts := make([]int, rc.seq)
	for i := range ts {
		ts[i] = i
	}
	if d == 1 || rc.n.AttrString("direction", "forward") == "reverse" {
		slices.Reverse(ts)
	}
	return ts
}

// finish assembles Y (seq, dirs, batch, H) from the per-direction step
// outputs and the final states (1, batch, H) per direction into outputs
// 1.., undoing layout 1, and replaces the node.
func (rc *recurrence) finish(hs [][]*lower.Value, finals [][]*lower.Value) {
	e := rc.e
	concat := func(vs []*lower.Value, axis int64) *lower.Value {
		if len(vs) == 1 {
			return vs[0]
		}
		return e.Op("Concat", vs, lower.IntAttr("axis", axis))
	}
	layout := rc.n.AttrInt("layout", 0)
	var ys []*lower.Value
	for _, h := range hs {
		ys = append(ys, e.Unsqueeze(concat(h, 0), 1))
	}
	y := concat(ys, 1)
	if layout != 0 {
		y = e.Op("Transpose", []*lower.Value{y}, lower.IntsAttr("perm", 2, 0, 1, 3))
	}
	e.Replace(0, y)
	for k, f := range finals {
		s := concat(f, 0)
		if layout != 0 {
			s = e.Op("Transpose", []*lower.Value{s}, lower.IntsAttr("perm", 1, 0, 2))
		}
		e.Replace(k+1, s)
	}
	e.Done()
}
