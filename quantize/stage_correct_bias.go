package quantize

import (
	"context"
	"fmt"
	"math"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/calib/interp"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
	"github.com/onnxquant/onnxquant/qpass"
)

const correctBiasDoc = `Correct each output channel's bias for the mean shift of weight quantization (--bias-correction).

A layer y = W·x + b computes W_q·x + b once its weights are rounded, so
each output channel's mean moves by (W_q − W)·E[x]. The calibration
samples are run once more to measure E[x] per input channel of every Conv
and Gemm with a bias, and the shift is subtracted from the bias
(Nagel et al., "Data-free quantization", empirical variant; padding is
ignored). Rounding errors that do not cancel over a channel's fan-in,
depthwise convolutions above all, bias the output; this removes the part
that is the same on every sample.`

// biasTarget is one layer whose bias is corrected.
type biasTarget struct {
	node   *lower.Node
	bias   *qpass.Point
	weight qpass.QParams
	spec   *qpass.QSpec
	// input names the tensor whose per-channel mean is measured.
	module, input string
	axis          int // channel axis of the input
}

func correctBias(ctx context.Context, s *Session) error {
	targets := biasTargets(s)
	if len(targets) == 0 {
		return nil
	}
	means, err := channelMeans(ctx, s, targets)
	if err != nil {
		return err
	}
	for _, t := range targets {
		m := means.mean(t.module, t.input)
		if m == nil {
			continue
		}
		if err := t.correct(m); err != nil {
			return fmt.Errorf("node %q (%s): %w", t.node.Name, t.node.Target.OpType, err)
		}
	}
	return nil
}

// biasTargets lists the Conv and Gemm nodes with a derived bias point, a
// constant weight and per-channel weight qparams.
func biasTargets(s *Session) []biasTarget {
	var out []biasTarget
	for _, p := range s.Annotation.Points() {
		if !p.Derived() || len(p.Sites) != 1 || p.BiasWeight == nil {
			continue
		}
		bv := p.Sites[0].Value
		users := bv.Producer.Graph().Users(bv)
		if len(users) != 1 {
			continue
		}
		n := users[0]
		op := n.Target.OpType
		if op != "Conv" && !(op == "Gemm" && n.AttrInt("transA", 0) == 0) || len(n.Inputs) < 3 || n.Inputs[2] != bv {
			continue
		}
		w, ok := s.QParams[p.BiasWeight.Root().ID]
		if !ok {
			continue
		}
		x := n.Inputs[0].Source()
		axis := 1
		if op == "Gemm" {
			axis = -1
		}
		out = append(out, biasTarget{node: n, bias: p, weight: w, spec: p.BiasWeight.Root().Spec,
			module: x.Producer.Graph().Module.Name, input: x.Name, axis: axis})
	}
	return out
}

// correct subtracts (W_q − W)·mean from the bias.
func (t biasTarget) correct(mean []float64) error {
	wv := t.node.Inputs[1]
	w, wdims, ok := wv.ConstantFloats()
	if !ok {
		return nil
	}
	bv := t.node.Inputs[2]
	b, _, ok := bv.ConstantFloats()
	if !ok {
		return nil
	}
	outCh := len(b)
	var shift []float64
	switch t.node.Target.OpType {
	case "Conv":
		// W is (O, C/group, k...): output o reads input channels of its
		// group.
		if len(wdims) < 2 || int(wdims[0]) != outCh || t.weight.Axis != 0 {
			return nil
		}
		group := int(t.node.AttrInt("group", 1))
		cg := int(wdims[1])
		if cg*group != len(mean) {
			return nil
		}
		inner := len(w) / (outCh * cg)
		perGroup := outCh / group
		shift = make([]float64, outCh)
		for o := 0; o < outCh; o++ {
			s := t.scale(o)
			for c := 0; c < cg; c++ {
				m := mean[(o/perGroup)*cg+c]
				base := (o*cg + c) * inner
				var d float64
				for k := 0; k < inner; k++ {
					d += t.rounded(w[base+k], s) - float64(w[base+k])
				}
				shift[o] += d * m
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
				shift[o] += (t.rounded(w[idx], s) - float64(w[idx])) * mean[i]
			}
		}
	default:
		return nil
	}
	nb := make([]float32, outCh)
	for o := range nb {
		nb[o] = float32(float64(b[o]) - shift[o])
	}
	bv.Producer.Initializer = &onnxpb.TensorProto{Name: bv.Producer.Initializer.Name, Dims: bv.Producer.Initializer.GetDims(),
		DataType: bv.Producer.Initializer.DataType, FloatData: nb}
	return nil
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

// meanSums accumulates per-channel sums of watched tensors.
type meanSums struct {
	axis   map[string]int
	sum    map[string][]float64
	counts map[string]float64
}

func key(module, value string) string { return module + "\x00" + value }

func (m *meanSums) Enter(string)   {}
func (m *meanSums) DoesNotRetain() {}

func (m *meanSums) Value(module string, v *lower.Value, t *tensor.Dense) {
	k := key(module, v.Name)
	axis, ok := m.axis[k]
	if !ok {
		return
	}
	data, ok := t.Data().([]float32)
	shape := t.Shape()
	if !ok || len(shape) == 0 {
		return
	}
	if axis < 0 {
		axis += len(shape)
	}
	if axis < 0 || axis >= len(shape) {
		return
	}
	ch := shape[axis]
	inner := 1
	for _, d := range shape[axis+1:] {
		inner *= d
	}
	if m.sum[k] == nil {
		m.sum[k] = make([]float64, ch)
	}
	if len(m.sum[k]) != ch {
		return
	}
	for i, x := range data {
		m.sum[k][(i/inner)%ch] += float64(x)
	}
	m.counts[k] += float64(len(data) / ch)
}

func (m *meanSums) mean(module, value string) []float64 {
	k := key(module, value)
	if m.counts[k] == 0 {
		return nil
	}
	out := make([]float64, len(m.sum[k]))
	for i, s := range m.sum[k] {
		out[i] = s / m.counts[k]
	}
	return out
}

// channelMeans runs the calibration samples through the float model and
// averages each target's input per channel.
func channelMeans(ctx context.Context, s *Session, targets []biasTarget) (*meanSums, error) {
	m := &meanSums{axis: map[string]int{}, sum: map[string][]float64{}, counts: map[string]float64{}}
	for _, t := range targets {
		m.axis[key(t.module, t.input)] = t.axis
	}
	it, err := interp.New(s.Module, interp.Options{Workers: max(s.Options.Workers, 1)})
	if err != nil {
		return nil, err
	}
	for i := 0; i < s.Samples.Len(); i++ {
		smp, err := s.Samples.Load(i)
		if err != nil {
			return nil, err
		}
		if _, err := it.Run(ctx, smp.Inputs, m); err != nil {
			return nil, fmt.Errorf("sample %s: %w", smp.Name, err)
		}
		s.Samples.Release(smp)
	}
	return m, nil
}
