package quantize

import (
	"context"
	"fmt"
	"math"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
	"github.com/onnxquant/onnxquant/qpass"
)

const correctBiasDoc = `Correct each output channel's bias for the mean shift of weight quantization (--bias-correction).

A layer y = W·x + b computes W_q·x + b once its weights are rounded, so
each output channel's mean moves by E[(W_q − W) * x]. Rounding errors that
do not cancel over a channel's fan-in (depthwise convolutions above all)
bias the output the same way on every sample. The calibration samples are
run once more to measure, for every Conv and Gemm with an initializer
bias, the mean input each weight reads (per input channel and kernel
offset, over every output position, zero where it reads padding), per
sample; a channel's shift is subtracted from its bias where its mean over
the samples exceeds twice its standard error (the bias correction of
Nagel et al., "Data-free quantization", measured on data rather than
derived from BatchNorm statistics).`

// biasTarget is one layer whose bias is corrected.
type biasTarget struct {
	node   *lower.Node
	bias   *qpass.Point
	weight qpass.QParams
	spec   *qpass.QSpec
	// input names the tensor whose patch means are measured.
	module, input string
	// original are the float weights when a stage (adaround) already put
	// the weights on their grid; nil when they are still float.
	original []float32
}

func correctBias(ctx context.Context, s *Session) error {
	targets := biasTargets(s)
	if len(targets) == 0 {
		return nil
	}
	means, err := measureMeans(ctx, s, targets)
	if err != nil {
		return err
	}
	for i, t := range targets {
		m := means[i]
		if m == nil {
			continue
		}
		t.original = s.OriginalWeights[t.node.Inputs[1]]
		moved, err := t.correct(m)
		if err != nil {
			return fmt.Errorf("node %q (%s): %w", t.node.Name, t.node.Target.OpType, err)
		}
		if moved > 0 {
			s.logf("correct-bias: %s %q: largest shift %.3g", t.node.Target.OpType, t.node.Meta.SourceName, moved)
		}
	}
	return nil
}

// biasTargets lists the Conv and Gemm nodes with a derived bias point, a
// constant weight and per-channel weight qparams.
func biasTargets(s *Session) []biasTarget {
	// A bias or weight initializer read by several layers (a body reading
	// an outer initializer through a capture, say) cannot take one
	// layer's correction: count the readers over every graph.
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
	var out []biasTarget
	for _, p := range s.Annotation.Points() {
		if !p.Derived() || len(p.Sites) != 1 || p.BiasWeight == nil {
			continue
		}
		bv := p.Sites[0].Value
		if bv.Producer == nil || bv.Producer.Initializer == nil {
			// Only an initializer can be given new data.
			continue
		}
		users := bv.Producer.Graph().Users(bv)
		if len(users) != 1 || readers[bv.Source()] != 1 {
			continue
		}
		n := users[0]
		if len(n.Inputs) < 2 || readers[n.Inputs[1].Source()] != 1 || !hasSite(p.BiasWeight.Root(), n.Inputs[1]) {
			continue
		}
		op := n.Target.OpType
		if op != "Conv" && !(op == "Gemm" && n.AttrInt("transA", 0) == 0) || len(n.Inputs) < 3 || n.Inputs[2] != bv {
			continue
		}
		w, ok := s.QParams[p.BiasWeight.Root().ID]
		if !ok {
			continue
		}
		x := n.Inputs[0].Source()
		out = append(out, biasTarget{node: n, bias: p, weight: w, spec: p.BiasWeight.Root().Spec,
			module: x.Producer.Graph().Module.Name, input: x.Name})
	}
	return out
}

// hasSite reports whether the point quantizes v.
func hasSite(p *qpass.Point, v *lower.Value) bool {
	for _, site := range p.Sites {
		if site.Value == v || site.Value.Source() == v.Source() {
			return true
		}
	}
	return false
}

// correct subtracts the mean shift E[(W_q − W) * x] from the bias, channel
// by channel, where the calibration samples show it: a channel's shift is
// applied only when its mean over the samples is more than twice its
// standard error, since a shift estimated from a few samples that vary
// more than it does would add error on new data rather than remove it.
// It returns the largest shift applied.
func (t biasTarget) correct(perSample [][]float64) (float64, error) {
	wq, wdims, ok := t.node.Inputs[1].ConstantFloats()
	if !ok || len(perSample) < 2 {
		return 0, nil
	}
	w := wq
	if t.original != nil && len(t.original) == len(wq) {
		w = t.original
	}
	bv := t.node.Inputs[2]
	b, _, ok := bv.ConstantFloats()
	if !ok {
		return 0, nil
	}
	outCh := len(b)
	sum := make([]float64, outCh)
	sq := make([]float64, outCh)
	for _, mean := range perSample {
		shift := t.shiftOf(mean, wq, w, wdims, outCh)
		if shift == nil {
			return 0, nil
		}
		for o, d := range shift {
			sum[o] += d
			sq[o] += d * d
		}
	}
	n := float64(len(perSample))
	nb := make([]float32, outCh)
	moved := 0.0
	for o := range nb {
		mean := sum[o] / n
		variance := math.Max(sq[o]/n-mean*mean, 0) * n / (n - 1)
		nb[o] = b[o]
		if math.Abs(mean) > 2*math.Sqrt(variance/n) {
			nb[o] = float32(float64(b[o]) - mean)
			moved = math.Max(moved, math.Abs(mean))
		}
	}
	bv.Producer.Initializer = &onnxpb.TensorProto{Name: bv.Producer.Initializer.Name, Dims: bv.Producer.Initializer.GetDims(),
		DataType: bv.Producer.Initializer.DataType, FloatData: nb}
	return moved, nil
}

// shiftOf is (W_q − W) applied to one sample's patch means, per output
// channel, where W_q rounds wq (the weights the model holds) and W are the
// float weights; nil for a layout it does not handle.
func (t biasTarget) shiftOf(mean []float64, wq, w []float32, wdims []int64, outCh int) []float64 {
	var shift []float64
	switch t.node.Target.OpType {
	case "Conv":
		// W is (O, C/group, k...): output o reads input channels of its
		// group; mean holds one patch mean per input channel and offset.
		if len(wdims) < 3 || int(wdims[0]) != outCh || t.weight.Axis != 0 {
			return nil
		}
		group := int(t.node.AttrInt("group", 1))
		cg := int(wdims[1])
		inner := len(w) / (outCh * cg)
		if cg*group*inner != len(mean) || outCh%group != 0 {
			return nil
		}
		perGroup := outCh / group
		shift = make([]float64, outCh)
		for o := 0; o < outCh; o++ {
			s := t.scale(o)
			for c := 0; c < cg; c++ {
				in := ((o/perGroup)*cg + c) * inner
				base := (o*cg + c) * inner
				for k := 0; k < inner; k++ {
					shift[o] += (t.rounded(wq[base+k], s) - float64(w[base+k])) * mean[in+k]
				}
			}
		}
	case "Gemm":
		if len(wdims) != 2 || t.node.AttrFloat("alpha", 1) != 1 || t.node.AttrFloat("beta", 1) != 1 {
			return nil
		}
		transB := t.node.AttrInt("transB", 0) != 0
		k := int(wdims[0])
		if transB {
			k = int(wdims[1])
		}
		if k != len(mean) || int(wdims[0])*int(wdims[1]) != k*outCh {
			return nil
		}
		shift = make([]float64, outCh)
		for o := 0; o < outCh; o++ {
			s := t.scale(o)
			for i := 0; i < k; i++ {
				idx := i*outCh + o
				if transB {
					idx = o*k + i
				}
				shift[o] += (t.rounded(wq[idx], s) - float64(w[idx])) * mean[i]
			}
		}
	default:
		return nil
	}
	return shift
}

func (t biasTarget) scale(o int) float64 {
	if len(t.weight.Scale) == 1 {
		return float64(t.weight.Scale[0])
	}
	return float64(t.weight.Scale[o])
}

// rounded is w on the weight grid (symmetric, zero point 0).
func (t biasTarget) rounded(w float32, scale float64) float64 {
	q := math.Round(float64(w) / scale)
	q = math.Min(math.Max(q, float64(t.spec.QMin)), float64(t.spec.QMax))
	return q * scale
}

// convGeometry is what the exact mean of a Conv's input patches needs:
// the kernel's spatial size, strides, dilations and leading pads, for 1-D
// and 2-D convolutions (a 1-D one is a 2-D one of height 1).
type convGeometry struct {
	kh, kw, sh, sw, dh, dw int
	padT, padL, padB, padR int
}

func geometryOf(n *lower.Node, wdims []int64) (convGeometry, bool) {
	if ap := n.AttrString("auto_pad", "NOTSET"); ap != "NOTSET" && ap != "VALID" {
		return convGeometry{}, false
	}
	spatial := len(wdims) - 2
	if spatial < 1 || spatial > 2 {
		return convGeometry{}, false
	}
	ints := func(name string, def int64) []int64 {
		v := n.AttrInts(name, nil)
		if v == nil {
			v = make([]int64, 2*spatial)
			for i := range v {
				v[i] = def
			}
		}
		return v
	}
	st, dil, pads := ints("strides", 1), ints("dilations", 1), ints("pads", 0)
	if n.AttrString("auto_pad", "NOTSET") == "VALID" {
		pads = make([]int64, 2*spatial)
	}
	if len(st) < spatial || len(dil) < spatial || len(pads) < 2*spatial {
		return convGeometry{}, false
	}
	g := convGeometry{kh: 1, kw: int(wdims[len(wdims)-1]), sh: 1, sw: int(st[spatial-1]), dh: 1, dw: int(dil[spatial-1]),
		padL: int(pads[spatial-1]), padR: int(pads[2*spatial-1])}
	if spatial == 2 {
		g.kh, g.sh, g.dh, g.padT, g.padB = int(wdims[2]), int(st[0]), int(dil[0]), int(pads[0]), int(pads[2])
	}
	return g, true
}

// patchMeans accumulates, for each input channel and kernel offset, the
// mean of the input values that offset reads over every output position
// (zero where it reads padding): E[(W_q − W) * x] per output channel is
// then exact, borders included. A Gemm is a 1x1 Conv over its rows.
type patchMeans struct {
	geo    *convGeometry // nil for a Gemm
	sums   []float64     // [channel][kh*kw], of the current sample
	count  float64
	failed bool
	// perSample holds the finished samples' patch means.
	perSample [][]float64
}

// endSample closes the current sample's sums.
func (p *patchMeans) endSample() {
	if p.count > 0 && !p.failed {
		m := make([]float64, len(p.sums))
		for i, v := range p.sums {
			m[i] = v / p.count
		}
		p.perSample = append(p.perSample, m)
	}
	p.sums, p.count = nil, 0
}

func (p *patchMeans) add(data []float32, shape []int) {
	if p.geo == nil {
		if len(shape) != 2 {
			p.failed = true
			return
		}
		k := shape[1]
		if p.sums == nil {
			p.sums = make([]float64, k)
		}
		for i, v := range data {
			p.sums[i%k] += float64(v)
		}
		p.count += float64(shape[0])
		return
	}
	g := p.geo
	var n, c, h, w int
	switch len(shape) {
	case 3:
		n, c, h, w = shape[0], shape[1], 1, shape[2]
	case 4:
		n, c, h, w = shape[0], shape[1], shape[2], shape[3]
	default:
		p.failed = true
		return
	}
	ho := (h+g.padT+g.padB-g.dh*(g.kh-1)-1)/g.sh + 1
	wo := (w+g.padL+g.padR-g.dw*(g.kw-1)-1)/g.sw + 1
	if ho <= 0 || wo <= 0 {
		p.failed = true
		return
	}
	k := g.kh * g.kw
	if p.sums == nil {
		p.sums = make([]float64, c*k)
	}
	if len(p.sums) != c*k {
		p.failed = true
		return
	}
	for b := 0; b < n; b++ {
		for ch := 0; ch < c; ch++ {
			plane := data[(b*c+ch)*h*w : (b*c+ch+1)*h*w]
			for ki := 0; ki < g.kh; ki++ {
				for kj := 0; kj < g.kw; kj++ {
					var sum float64
					for oh := 0; oh < ho; oh++ {
						y := oh*g.sh + ki*g.dh - g.padT
						if y < 0 || y >= h {
							continue
						}
						row := plane[y*w : (y+1)*w]
						for ow := 0; ow < wo; ow++ {
							if x := ow*g.sw + kj*g.dw - g.padL; x >= 0 && x < w {
								sum += float64(row[x])
							}
						}
					}
					p.sums[ch*k+ki*g.kw+kj] += sum
				}
			}
		}
	}
	p.count += float64(n * ho * wo)
}

// means returns every sample's patch means, nil when nothing usable was
// seen.
func (p *patchMeans) means() [][]float64 {
	if p.failed {
		return nil
	}
	return p.perSample
}

// meanCollector feeds the watched tensors to their targets' patchMeans.
type meanCollector struct {
	watch map[string][]*patchMeans
}

func key(module, value string) string { return module + "\x00" + value }

func (m *meanCollector) Enter(string)   {}
func (m *meanCollector) DoesNotRetain() {}

func (m *meanCollector) Value(module string, v *lower.Value, t *tensor.Dense) {
	ps := m.watch[key(module, v.Name)]
	if len(ps) == 0 {
		return
	}
	data, ok := t.Data().([]float32)
	if !ok {
		return
	}
	for _, p := range ps {
		p.add(data, t.Shape())
	}
}

// measureMeans runs the calibration samples through the float model once
// and returns each target's patch means per sample (nil where they could
// not be measured).
func measureMeans(ctx context.Context, s *Session, targets []biasTarget) ([][][]float64, error) {
	m := &meanCollector{watch: map[string][]*patchMeans{}}
	per := make([]*patchMeans, len(targets))
	for i, t := range targets {
		per[i] = &patchMeans{}
		if t.node.Target.OpType == "Conv" {
			_, wdims, _ := t.node.Inputs[1].ConstantFloats()
			g, ok := geometryOf(t.node, wdims)
			if !ok {
				per[i].failed = true
				continue
			}
			per[i].geo = &g
		}
		k := key(t.module, t.input)
		m.watch[k] = append(m.watch[k], per[i])
	}
	endSample := func(int) {
		for _, p := range per {
			p.endSample()
		}
	}
	if err := runFloatSamples(ctx, s, m, nil, endSample); err != nil {
		return nil, err
	}
	out := make([][][]float64, len(targets))
	for i, p := range per {
		out[i] = p.means()
	}
	return out, nil
}
