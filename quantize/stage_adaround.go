package quantize

import (
	"context"
	"fmt"
	"math"
	"sync"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
	"github.com/onnxquant/onnxquant/qpass"
)

const adaRoundDoc = `Choose each weight's rounding direction by its layer's output error (--adaround).

Rounding every weight to the nearest grid point minimises each weight's
own error, not the layer's: the errors of one output channel's fan-in add
up on the inputs the layer actually sees. AdaRound (Nagel et al., 2020)
learns, per weight, whether to round up or down so as to minimise the
layer output's squared error ||(W_q − W)·X||² on calibration data. This
stage solves the same problem with greedy coordinate descent instead of
AdaRound's rectified sigmoid and annealed regulariser: starting from
nearest rounding, it flips a weight to its other neighbour whenever that
lowers the output error on the fitting inputs, for at most three sweeps
over each channel's fan-in. The objective is quadratic in the rounding
choices, so each flip's effect is exact and costs one dot product, where
the gradient method needs thousands of iterations over the whole layer.

Inputs X are the float model's inputs of each Conv (1-D and 2-D, any
group), Gemm and MatMul with constant weights, sampled at up to 512
output positions over the calibration samples (patches, padding included).
Samples alternate between fitting and judging, as in calibrate-split:
an output channel keeps its learnt rounding only where it also lowers the
error on the judging samples' positions, so layers whose fan-in exceeds
the positions seen (where flips could fit noise) fall back to nearest
rounding. The chosen weights are written on their grid, so conversion
keeps them; bias correction, when also asked, measures the shift from the
original float weights.`

func adaRounds(s *Session) bool { return s.Options.Accuracy.AdaRound }

// roundPositions bounds the input positions kept per layer, half fitting,
// half judging; roundSweeps bounds the passes over each channel's fan-in.
const (
	roundPositions = 512
	roundSweeps    = 3
)

// roundLayer is one layer whose weights are re-rounded.
type roundLayer struct {
	node   *lower.Node
	weight *lower.Value
	qp     qpass.QParams
	spec   *qpass.QSpec
	module string
	input  string
	geo    *convGeometry // nil for Gemm and MatMul
	// Layout: outCh outputs, each reading fan features starting at
	// featBase(o) of the collected inputs; index(o, k) is the flat weight
	// index of output o's feature k.
	outCh, fan, features int
	featBase             func(o int) int
	index                func(o, k int) int
	// Collected inputs: feats[f] holds feature f at every kept position;
	// judge[p] marks positions from judging samples.
	feats  [][]float32
	judge  []bool
	failed bool
}

func adaRound(ctx context.Context, s *Session) error {
	layers := roundLayers(s)
	if len(layers) == 0 {
		return nil
	}
	if err := collectRoundInputs(ctx, s, layers); err != nil {
		return err
	}
	if s.OriginalWeights == nil {
		s.OriginalWeights = map[*lower.Value][]float32{}
	}
	for _, l := range layers {
		if l.failed || len(l.judge) == 0 {
			continue
		}
		flipped, kept, err := l.round(s, max(s.Options.Workers, 1))
		if err != nil {
			return fmt.Errorf("node %q (%s): %w", l.node.Name, l.node.Target.OpType, err)
		}
		s.logf("adaround: %s %q: %d weights flipped, %d of %d channels kept the learnt rounding",
			l.node.Target.OpType, l.node.Meta.SourceName, flipped, kept, l.outCh)
	}
	return nil
}

// roundLayers lists the Conv, Gemm and MatMul nodes with a constant weight
// of their own (read by no other node) and a weight point of one site.
func roundLayers(s *Session) []*roundLayer {
	readers := map[*lower.Value]int{}
	_ = s.Module.Walk(func(m *lower.GraphModule) error {
		for _, n := range m.Graph.Nodes {
			for _, in := range n.Inputs {
				if in != nil {
					readers[in.Source()]++
				}
			}
		}
		return nil
	})
	var out []*roundLayer
	_ = s.Module.Walk(func(m *lower.GraphModule) error {
		for _, n := range m.Graph.Nodes {
			if n.Op != lower.CallFunction || n.Target.Domain != "" || len(n.Inputs) < 2 || n.Inputs[0] == nil || n.Inputs[1] == nil {
				continue
			}
			wv := n.Inputs[1]
			if wv.Producer == nil || wv.Producer.Op != lower.GetAttr || wv.Producer.Initializer == nil || readers[wv.Source()] != 1 {
				continue
			}
			p := s.Annotation.InputPoint(n, 1)
			if p == nil || len(p.Sites) != 1 || !p.Spec.Symmetric {
				continue
			}
			qp, ok := s.QParams[p.ID]
			if !ok || len(qp.Scale) == 0 {
				continue
			}
			x := n.Inputs[0].Source()
			l := &roundLayer{node: n, weight: wv, qp: qp, spec: p.Spec, module: x.Producer.Graph().Module.Name, input: x.Name}
			if l.layout() {
				out = append(out, l)
			}
		}
		return nil
	})
	return out
}

// layout fills the layer's weight and feature layout; false for a layout
// it does not handle.
func (l *roundLayer) layout() bool {
	_, d, ok := l.weight.ConstantFloats()
	if !ok {
		return false
	}
	n := l.node
	perChannel := len(l.qp.Scale) > 1
	switch n.Target.OpType {
	case "Conv":
		g, ok := geometryOf(n, d)
		if !ok || perChannel && l.qp.Axis != 0 {
			return false
		}
		l.geo = &g
		group := int(n.AttrInt("group", 1))
		o, cg := int(d[0]), int(d[1])
		inner := g.kh * g.kw
		if o%group != 0 {
			return false
		}
		perGroup := o / group
		l.outCh, l.fan, l.features = o, cg*inner, cg*group*inner
		l.featBase = func(o int) int { return (o / perGroup) * cg * inner }
		l.index = func(o, k int) int { return o*cg*inner + k }
	case "Gemm", "MatMul":
		if len(d) != 2 {
			return false
		}
		transB := false
		if n.Target.OpType == "Gemm" {
			if n.AttrInt("transA", 0) != 0 || n.AttrFloat("alpha", 1) != 1 {
				return false
			}
			transB = n.AttrInt("transB", 0) != 0
		}
		k, o := int(d[0]), int(d[1])
		if transB {
			k, o = o, k
		}
		if perChannel && (transB && l.qp.Axis != 0 || !transB && l.qp.Axis != 1) {
			return false
		}
		l.outCh, l.fan, l.features = o, k, k
		l.featBase = func(int) int { return 0 }
		if transB {
			l.index = func(oo, kk int) int { return oo*k + kk }
		} else {
			l.index = func(oo, kk int) int { return kk*o + oo }
		}
	default:
		return false
	}
	return len(l.qp.Scale) == 1 || len(l.qp.Scale) == l.outCh
}

// add keeps some of one execution's input positions.
func (l *roundLayer) add(data []float32, shape []int, sample, samples int) {
	if l.failed {
		return
	}
	quota := (roundPositions + samples - 1) / samples
	judge := sample%2 == 1
	if l.feats == nil {
		l.feats = make([][]float32, l.features)
	}
	if l.geo == nil {
		// Gemm/MatMul: every row of the last axis is a position.
		if len(shape) == 0 || shape[len(shape)-1] != l.fan {
			l.failed = true
			return
		}
		rows := len(data) / l.fan
		for _, r := range spread(rows, quota, sample) {
			for f := 0; f < l.fan; f++ {
				l.feats[f] = append(l.feats[f], data[r*l.fan+f])
			}
			l.judge = append(l.judge, judge)
		}
		return
	}
	g := l.geo
	var n, c, h, w int
	switch len(shape) {
	case 3:
		n, c, h, w = shape[0], shape[1], 1, shape[2]
	case 4:
		n, c, h, w = shape[0], shape[1], shape[2], shape[3]
	default:
		l.failed = true
		return
	}
	inner := g.kh * g.kw
	ho := (h+g.padT+g.padB-g.dh*(g.kh-1)-1)/g.sh + 1
	wo := (w+g.padL+g.padR-g.dw*(g.kw-1)-1)/g.sw + 1
	if ho <= 0 || wo <= 0 || c*inner != l.features {
		l.failed = true
		return
	}
	for _, p := range spread(n*ho*wo, quota, sample) {
		b, oh, ow := p/(ho*wo), p/wo%ho, p%wo
		for ch := 0; ch < c; ch++ {
			plane := data[(b*c+ch)*h*w : (b*c+ch+1)*h*w]
			for ki := 0; ki < g.kh; ki++ {
				y := oh*g.sh + ki*g.dh - g.padT
				for kj := 0; kj < g.kw; kj++ {
					x := ow*g.sw + kj*g.dw - g.padL
					var v float32
					if y >= 0 && y < h && x >= 0 && x < w {
						v = plane[y*w+x]
					}
					f := ch*inner + ki*g.kw + kj
					l.feats[f] = append(l.feats[f], v)
				}
			}
		}
		l.judge = append(l.judge, judge)
	}
}

// spread picks up to quota of total positions, evenly strided, the offset
// moving with the sample so that samples cover different positions.
func spread(total, quota, sample int) []int {
	if total <= quota {
		out := make([]int, total)
		for i := range out {
			out[i] = i
		}
		return out
	}
	stride := total / quota
	off := (sample * 7) % stride
	out := make([]int, 0, quota)
	for p := off; p < total && len(out) < quota; p += stride {
		out = append(out, p)
	}
	return out
}

// roundCollector feeds the watched tensors to their layers.
type roundCollector struct {
	watch           map[string][]*roundLayer
	sample, samples int
}

func (c *roundCollector) Enter(string)   {}
func (c *roundCollector) DoesNotRetain() {}

func (c *roundCollector) Value(module string, v *lower.Value, t *tensor.Dense) {
	ls := c.watch[key(module, v.Name)]
	if len(ls) == 0 {
		return
	}
	data, ok := t.Data().([]float32)
	if !ok {
		return
	}
	for _, l := range ls {
		l.add(data, t.Shape(), c.sample, c.samples)
	}
}

// collectRoundInputs runs the calibration samples through the float model
// once and keeps every layer's input positions.
func collectRoundInputs(ctx context.Context, s *Session, layers []*roundLayer) error {
	c := &roundCollector{watch: map[string][]*roundLayer{}, samples: s.Samples.Len()}
	for _, l := range layers {
		k := key(l.module, l.input)
		c.watch[k] = append(c.watch[k], l)
	}
	return runFloatSamples(ctx, s, c, func(i int) { c.sample = i }, nil)
}

// round chooses the rounding of every output channel on workers
// goroutines and writes the weights on their grid. It returns the number
// of weights rounded away from nearest and of channels that kept a learnt
// rounding.
func (l *roundLayer) round(s *Session, workers int) (flipped, kept int, err error) {
	w, dims, ok := l.weight.ConstantFloats()
	if !ok {
		return 0, 0, nil
	}
	orig := w
	if o, ok := s.OriginalWeights[l.weight]; ok {
		orig = o
	}
	var fit, judge []int
	for p, j := range l.judge {
		if j {
			judge = append(judge, p)
		} else {
			fit = append(fit, p)
		}
	}
	if len(fit) == 0 || len(judge) == 0 {
		return 0, 0, nil
	}
	// Each feature's values at the fitting and at the judging positions,
	// contiguous, and its squared norm over the fitting ones.
	fitCols, judgeCols := make([][]float32, l.features), make([][]float32, l.features)
	norm := make([]float64, l.features)
	for f, col := range l.feats {
		fc, jc := make([]float32, len(fit)), make([]float32, len(judge))
		for i, p := range fit {
			fc[i] = col[p]
			norm[f] += float64(col[p]) * float64(col[p])
		}
		for i, p := range judge {
			jc[i] = col[p]
		}
		fitCols[f], judgeCols[f] = fc, jc
	}
	l.feats = nil
	nw := make([]float32, len(w))
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := range next {
				f, k := l.roundChannel(o, orig, nw, norm, fitCols, judgeCols)
				mu.Lock()
				flipped += f
				if k {
					kept++
				}
				mu.Unlock()
			}
		}()
	}
	for o := 0; o < l.outCh; o++ {
		next <- o
	}
	close(next)
	wg.Wait()
	init := l.weight.Producer.Initializer
	l.weight.Producer.Initializer = &onnxpb.TensorProto{Name: init.Name, Dims: append([]int64{}, dims...), DataType: init.DataType, FloatData: nw}
	s.OriginalWeights[l.weight] = orig
	return flipped, kept, nil
}

// roundChannel chooses output o's rounding and writes its weights into nw.
func (l *roundLayer) roundChannel(o int, w, nw []float32, norm []float64, fit, judge [][]float32) (flipped int, kept bool) {
	scale := float64(l.qp.Scale[0])
	if len(l.qp.Scale) > 1 {
		scale = float64(l.qp.Scale[o])
	}
	base := l.featBase(o)
	qmin, qmax := float64(l.spec.QMin), float64(l.spec.QMax)
	clamp := func(q float64) float64 { return math.Min(math.Max(q, qmin), qmax) }
	near := make([]float64, l.fan)
	alt := make([]float64, l.fan)
	q := make([]float64, l.fan)
	for k := range near {
		v := float64(w[l.index(o, k)]) / scale
		near[k] = clamp(math.Round(v))
		if v >= near[k] {
			alt[k] = clamp(near[k] + 1)
		} else {
			alt[k] = clamp(near[k] - 1)
		}
		q[k] = near[k]
	}
	// residual over the positions of cols of the rounding qs.
	residual := func(qs []float64, cols [][]float32) []float64 {
		r := make([]float64, len(cols[base]))
		for k := 0; k < l.fan; k++ {
			d := qs[k]*scale - float64(w[l.index(o, k)])
			if d == 0 {
				continue
			}
			for i, x := range cols[base+k] {
				r[i] += d * float64(x)
			}
		}
		return r
	}
	r := residual(q, fit)
	if scale > 0 {
		for sweep := 0; sweep < roundSweeps; sweep++ {
			moved := false
			for k := 0; k < l.fan; k++ {
				other := alt[k]
				if q[k] != near[k] {
					other = near[k]
				}
				if other == q[k] || norm[base+k] == 0 {
					continue
				}
				t := (other - q[k]) * scale
				col := fit[base+k]
				var dot float64
				for i, x := range col {
					dot += r[i] * float64(x)
				}
				if gain := 2*t*dot + t*t*norm[base+k]; gain < -1e-12*norm[base+k]*t*t {
					for i, x := range col {
						r[i] += t * float64(x)
					}
					q[k] = other
					moved = true
				}
			}
			if !moved {
				break
			}
		}
	}
	changed := 0
	for k := range q {
		if q[k] != near[k] {
			changed++
		}
	}
	if changed > 0 {
		sq := func(r []float64) float64 {
			var e float64
			for _, v := range r {
				e += v * v
			}
			return e
		}
		if sq(residual(q, judge)) < sq(residual(near, judge)) {
			kept, flipped = true, changed
		} else {
			copy(q, near)
		}
	}
	for k := range q {
		nw[l.index(o, k)] = float32(q[k] * scale)
	}
	return flipped, kept
}
