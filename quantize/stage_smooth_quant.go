package quantize

import (
	"context"
	"fmt"
	"math"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/qpass"
)

const smoothQuantDoc = qpass.SmoothQuantDoc + `

The stage runs the calibration samples through the float model once to
measure each candidate activation's largest magnitude per channel, and
rescales only the activations with outlier channels (the largest channel at
least qpass.OutlierRatio times the median one). It runs before the
transform passes, while LayerNormalization is still one node.`

func smoothes(s *Session) bool { return s.Options.Accuracy.SmoothQuant != 0 }

// smoothSite is one activation being measured.
type smoothSite struct {
	graph  *lower.Graph
	target qpass.SmoothTarget
	absMax []float32
	failed bool
}

func smoothQuant(ctx context.Context, s *Session) error {
	alpha := s.Options.Accuracy.SmoothQuant
	if !(alpha > 0 && alpha <= 1) {
		return fmt.Errorf("smooth-quant alpha %g: expected a value in (0, 1]", alpha)
	}
	pc := s.PassContext()
	c := &absMaxCollector{watch: map[string]*smoothSite{}}
	var sites []*smoothSite
	_ = s.Module.Walk(func(m *lower.GraphModule) error {
		for _, t := range qpass.SmoothTargets(m.Graph, pc) {
			site := &smoothSite{graph: m.Graph, target: t}
			sites = append(sites, site)
			c.watch[key(m.Name, t.Value.Name)] = site
		}
		return nil
	})
	if len(sites) == 0 {
		s.logf("smooth-quant: no MatMul/Gemm activation whose producer can absorb a scale")
		return nil
	}
	if err := runFloatSamples(ctx, s, c, nil, nil); err != nil {
		return err
	}
	smoothed := 0
	for _, site := range sites {
		if site.failed || site.absMax == nil {
			continue
		}
		scales, outliers := qpass.SmoothScales(site.graph, site.target, site.absMax, alpha)
		if !outliers {
			continue
		}
		if err := qpass.SmoothActivation(site.graph, site.target, scales); err != nil {
			return err
		}
		lo, hi := math.Inf(1), 0.0
		for _, v := range scales {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		s.logf("smooth-quant: %q: %d channels, scales %.3g to %.3g", site.target.Value.Name, site.target.Channels, lo, hi)
		smoothed++
	}
	s.logf("smooth-quant: %d of %d candidate activations had outlier channels", smoothed, len(sites))
	return nil
}

// absMaxCollector keeps each watched activation's largest magnitude per
// channel (last axis) over every execution.
type absMaxCollector struct {
	watch map[string]*smoothSite
}

func (c *absMaxCollector) Enter(string)   {}
func (c *absMaxCollector) DoesNotRetain() {}

func (c *absMaxCollector) Value(module string, v *lower.Value, t *tensor.Dense) {
	site := c.watch[key(module, v.Name)]
	if site == nil || site.failed {
		return
	}
	data, ok := t.Data().([]float32)
	shape := t.Shape()
	k := site.target.Channels
	if !ok || len(shape) == 0 || shape[len(shape)-1] != k {
		site.failed = true
		return
	}
	if site.absMax == nil {
		site.absMax = make([]float32, k)
	}
	for i, x := range data {
		if x < 0 {
			x = -x
		}
		if x > site.absMax[i%k] {
			site.absMax[i%k] = x
		}
	}
}
