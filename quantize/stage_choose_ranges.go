package quantize

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/calib"
	"github.com/onnxquant/onnxquant/calib/observe"
	"github.com/onnxquant/onnxquant/internal/interp"
	"github.com/onnxquant/onnxquant/lower"
)

const calibrateSplitDoc = `Calibrate on two halves of the samples: one to fit ranges, one to judge them.

Even-numbered samples fit, odd-numbered ones judge. A conditional path
(If branch, Loop body) that only one half reaches is split again within
the samples that reach it: they are run once more to find which do, and
its tensors are observed on alternate ones of them, so its ranges are
judged too (a path one sample reaches falls back to min/max). The
observers of both halves are merged for the coverage check and the final
ranges, so every sample still counts.`

// pathRecorder notes the bodies one execution enters.
type pathRecorder struct{ entered map[string]bool }

func (p *pathRecorder) Enter(module string)                       { p.entered[module] = true }
func (p *pathRecorder) Value(string, *lower.Value, *tensor.Dense) {}
func (p *pathRecorder) DoesNotRetain()                            {}

// resplitPaths re-splits, within the samples that reach it, every
// submodule that only one half reached, and replaces the fitting and
// judging observers of the requests observed there.
func resplitPaths(ctx context.Context, s *Session, idx [2][]int, halves [2]*calib.Stats) error {
	oneSided := map[string]int{} // module -> the half that reached it
	for m, n := range halves[0].Coverage {
		switch n1 := halves[1].Coverage[m]; {
		case n > 0 && n1 == 0:
			oneSided[m] = 0
		case n == 0 && n1 > 0:
			oneSided[m] = 1
		}
	}
	if len(oneSided) == 0 {
		return nil
	}
	it, err := interp.New(s.Module, interp.Options{Workers: max(s.Options.Workers, 1)})
	if err != nil {
		return err
	}
	// Which samples of each half enter each one-sided module.
	reach := map[string][]int{}
	for h := 0; h < 2; h++ {
		needed := false
		for _, side := range oneSided {
			needed = needed || side == h
		}
		if !needed {
			continue
		}
		for _, i := range idx[h] {
			smp, err := s.set.Load(i)
			if err != nil {
				return err
			}
			rec := &pathRecorder{entered: map[string]bool{}}
			if _, err := it.Run(ctx, smp.Inputs, rec); err != nil {
				return fmt.Errorf("sample %s: %w", smp.Name, err)
			}
			s.set.Release(smp)
			for m, side := range oneSided {
				if side == h && rec.entered[m] {
					reach[m] = append(reach[m], i)
				}
			}
		}
	}
	// Modules reached by the same samples are observed together.
	groups := map[string][]string{}
	var order []string
	for _, m := range slices.Sorted(maps.Keys(reach)) {
		if len(reach[m]) < 2 {
			continue
		}
		k := fmt.Sprint(reach[m])
		if groups[k] == nil {
			order = append(order, k)
		}
		groups[k] = append(groups[k], m)
	}
	for _, k := range order {
		mods := groups[k]
		samples := reach[mods[0]]
		var reqs []calib.Request
		for _, r := range s.Requests {
			inside := len(r.Sites) > 0
			for _, site := range r.Sites {
				inside = inside && slices.Contains(mods, site.Module)
			}
			if inside {
				reqs = append(reqs, r)
			}
		}
		if len(reqs) == 0 {
			continue
		}
		var sides [2][]int
		for i, smp := range samples {
			sides[i%2] = append(sides[i%2], smp)
		}
		for h, side := range sides {
			sub, err := s.set.Subset(side)
			if err != nil {
				return err
			}
			st, err := calib.Observe(ctx, s.Module, sub, withMeanRequests(s, reqs), calib.Options{Workers: s.Options.Workers})
			if err != nil {
				return err
			}
			for _, r := range reqs {
				if h == 0 {
					s.heldOut.fit[r.ID] = st.Observers[r.ID]
					if o, ok := st.Observers[meanID(r.ID)]; ok {
						s.heldOut.fitMean[r.ID] = o
					}
				} else {
					s.heldOut.judge[r.ID] = st.Observers[r.ID]
				}
			}
		}
		s.logf("calibrate-split: %v reached by samples %v only: split among them", mods, samples)
	}
	return nil
}

// heldOut keeps the observers of each half of a split calibration.
type heldOut struct {
	fit, judge map[int]observe.Observer
	// fitMean and allMean average the per-sample extremes of the fitting
	// half and of all samples (the moving-average candidate).
	fitMean, allMean map[int]observe.Observer
}

// meanID is the request ID of the mean min/max observer paired with
// request id during a split calibration: IDs are point IDs (small and
// non-negative), so negative ones cannot collide.
func meanID(id int) int { return -1 - id }

// withMeanRequests adds to reqs a mean min/max observer on the same sites
// for each request, when the session tries the moving-average candidate
// (--observer auto-consumers).
func withMeanRequests(s *Session, reqs []calib.Request) []calib.Request {
	if !judgesByConsumers(s) {
		return reqs
	}
	out := slices.Clone(reqs)
	for _, r := range reqs {
		out = append(out, calib.Request{ID: meanID(r.ID), Spec: observe.Spec{Kind: observe.KindMeanMinMax}, Sites: r.Sites})
	}
	return out
}

// consumerOf returns the one-node model of u, built once per node; nil
// when u cannot run alone.
func (s *Session) consumerOf(u *lower.Node) *consumer {
	if s.consumers == nil {
		s.consumers = map[*lower.Node]*consumer{}
	}
	c, ok := s.consumers[u]
	if !ok {
		c = newConsumer(s.Module.Root(), u.Graph().Module.Name, u)
		s.consumers[u] = c
	}
	return c
}

func calibrateSplit(ctx context.Context, s *Session) error {
	n := s.Samples.Len()
	if n < 2 {
		// Nothing to hold out: calibrate as usual, and choose-ranges
		// falls back to min/max for every tensor.
		return calibrate(ctx, s)
	}
	var even, odd []int
	for i := 0; i < n; i++ {
		if i%2 == 0 {
			even = append(even, i)
		} else {
			odd = append(odd, i)
		}
	}
	var halves [2]*calib.Stats
	done := 0
	for h, idx := range [][]int{even, odd} {
		sub, err := s.set.Subset(idx)
		if err != nil {
			return err
		}
		if h == 1 && judgesByConsumers(s) {
			s.judgeSet = sub
		}
		opts := calib.Options{Workers: s.Options.Workers}
		if s.Options.Progress != nil {
			base := done
			opts.Progress = func(d, _ int) {
				if d == 0 && base > 0 {
					return // the second half starts where the first ended
				}
				s.Options.Progress(base+d, n)
			}
		}
		if halves[h], err = calib.Observe(ctx, s.Module, sub, withMeanRequests(s, s.Requests), opts); err != nil {
			return err
		}
		done += len(idx)
	}
	// The mean min/max observers feed the moving-average candidate only:
	// take them out of the halves' stats, which merge into the final ones.
	fitMean, allMean := map[int]observe.Observer{}, map[int]observe.Observer{}
	for _, r := range s.Requests {
		id := meanID(r.ID)
		f, j := halves[0].Observers[id], halves[1].Observers[id]
		if f == nil || j == nil {
			continue
		}
		delete(halves[0].Observers, id)
		delete(halves[1].Observers, id)
		c, err := observe.FromState(f.State())
		if err != nil {
			return fmt.Errorf("observer %d: %w", id, err)
		}
		if err := c.Merge(j); err != nil {
			return fmt.Errorf("observer %d: %w", id, err)
		}
		fitMean[r.ID], allMean[r.ID] = f, c
	}
	halves[0].Requests, halves[1].Requests = s.Requests, s.Requests
	// Merging folds the judging half into the fitting one: keep a copy
	// of the fitting half first (the judging half is not modified).
	s.heldOut = &heldOut{fit: map[int]observe.Observer{}, judge: maps.Clone(halves[1].Observers), fitMean: fitMean, allMean: allMean}
	for id, o := range halves[0].Observers {
		c, err := observe.FromState(o.State())
		if err != nil {
			return fmt.Errorf("observer %d: %w", id, err)
		}
		s.heldOut.fit[id] = c
	}
	if err := resplitPaths(ctx, s, [2][]int{even, odd}, halves); err != nil {
		return err
	}
	if err := halves[0].Merge(halves[1]); err != nil {
		return err
	}
	s.Stats = halves[0]
	return s.Stats.CheckCoverage(s.Module)
}

const chooseRangesDoc = `Choose each activation's range rule by its error on held-out samples.

For every histogram-observed activation, each candidate rule (min/max,
the histogram L2 search, two percentiles, min/max widened by 10, 25 and
50 percent) is fitted on one half of the calibration samples, and its grid
is scored by the squared quantization error (rounding and saturation) of
the other half's values. The winning rule is then applied to all samples.
Rules that fit the calibration samples tightly often saturate on new
data; judging on samples the range was not fitted on prefers the rules
that generalise. Ties keep min/max.

With --observer auto-consumers, one more candidate is tried, the moving
average of the per-sample extremes, and the candidates are judged instead
by the error they cause in the tensor's consumers: the judging samples are run
once more, and each consumer node, run alone in the interpreter, computes
its outputs from the tensor fake-quantized on each candidate grid and from
the float tensor; the candidate with the least squared output error
(relative to each consumer's output energy, summed over consumers) wins.
A tensor none of whose consumers can run alone (bodies) keeps the own-error
choice.`

// rangeSource is what a rule reads: the samples' histogram and the mean
// of their per-sample extremes.
type rangeSource struct {
	h    *observe.Histogram
	mean observe.Observer
}

// rangeRule is one candidate way to turn the observed samples into a
// range for a grid of the given number of levels; ok is false where the
// rule has nothing to read.
type rangeRule struct {
	name  string
	apply func(src rangeSource, levels int) (lo, hi float32, ok bool)
}

func widened(f float32) func(rangeSource, int) (float32, float32, bool) {
	return func(src rangeSource, _ int) (float32, float32, bool) {
		lo, hi := src.h.MinMax()
		if lo < 0 {
			lo *= 1 + f
		}
		if hi > 0 {
			hi *= 1 + f
		}
		return lo, hi, true
	}
}

func fromHistogram(f func(h *observe.Histogram, levels int) (float32, float32)) func(rangeSource, int) (float32, float32, bool) {
	return func(src rangeSource, levels int) (float32, float32, bool) {
		lo, hi := f(src.h, levels)
		return lo, hi, true
	}
}

// rangeRules are the candidates, min/max first so that it wins ties.
func rangeRules(withMean bool) []rangeRule {
	rules := []rangeRule{
		{"minmax", fromHistogram(func(h *observe.Histogram, _ int) (float32, float32) { return h.MinMax() })},
		{"histogram", fromHistogram(func(h *observe.Histogram, levels int) (float32, float32) {
			lo, hi, _ := h.SearchRange(levels)
			return lo, hi
		})},
		{"p99.99", fromHistogram(func(h *observe.Histogram, _ int) (float32, float32) { return h.PercentileRange(99.99) })},
		{"p99.999", fromHistogram(func(h *observe.Histogram, _ int) (float32, float32) { return h.PercentileRange(99.999) })},
		{"minmax+10%", widened(0.10)},
		{"minmax+25%", widened(0.25)},
		{"minmax+50%", widened(0.50)},
	}
	if withMean {
		// The moving average of the per-sample extremes, every sample
		// weighing the same (observe.MeanMinMax). Judged by the tensor's
		// own error it wins on a few similar judging samples and then
		// saturates new data (branchy_if_loop int8: 29.5 to 9.6 dB), so
		// only auto-consumers tries it.
		rules = append(rules, rangeRule{"moving-average", func(src rangeSource, _ int) (float32, float32, bool) {
			if src.mean == nil || src.mean.Count() == 0 {
				return 0, 0, false
			}
			lo, hi := src.mean.Range()
			return lo, hi, true
		}})
	}
	return rules
}

func chooseRanges(ctx context.Context, s *Session) error {
	s.RangeRules = map[int]string{}
	rules := rangeRules(judgesByConsumers(s))
	best := map[int]int{}
	var judges []*pointJudge
	judgeOf := map[int]*pointJudge{}
	for _, r := range s.Stats.Requests {
		all, ok := s.Stats.Observers[r.ID].(*observe.Histogram)
		if !ok || all.Count() == 0 || s.heldOut == nil {
			continue
		}
		fit, _ := s.heldOut.fit[r.ID].(*observe.Histogram)
		judge, _ := s.heldOut.judge[r.ID].(*observe.Histogram)
		if fit == nil || judge == nil || fit.Count() == 0 || judge.Count() == 0 {
			continue
		}
		p := pointByID(s.Annotation, r.ID)
		spec := s.grid(p.Spec)
		// The tensor's own error on the judging half: the choice where
		// no consumer can be run alone, and the tie-break.
		bestErr := -1.0
		j := &pointJudge{qmin: spec.QMin, qmax: spec.QMax, err: make([]float64, len(rules))}
		for i, rule := range rules {
			lo, hi, ok := rule.apply(rangeSource{fit, s.heldOut.fitMean[r.ID]}, spec.Levels())
			scale, zp, err := spec.QParams(lo, hi)
			if !ok || err != nil {
				j.grids = append(j.grids, grid{})
				continue
			}
			j.grids = append(j.grids, grid{scale, zp})
			if e := judge.GridError(scale, zp, spec.QMin, spec.QMax); bestErr < 0 || e < bestErr {
				best[r.ID], bestErr = i, e
			}
		}
		if s.judgeSet == nil {
			continue
		}
		for _, site := range p.Sites {
			v := site.Value.Source()
			var cs []*consumer
			for _, u := range v.Producer.Graph().Users(v) {
				if c := s.consumerOf(u); c != nil {
					cs = append(cs, c)
				}
			}
			j.sites = append(j.sites, v)
			j.modules = append(j.modules, v.Producer.Graph().Module.Name)
			j.consumers = append(j.consumers, cs)
		}
		judges = append(judges, j)
		judgeOf[r.ID] = j
	}
	if len(judges) > 0 {
		if err := judgeByConsumers(ctx, s, s.judgeSet, judges); err != nil {
			return err
		}
	}
	for _, r := range s.Stats.Requests {
		all, ok := s.Stats.Observers[r.ID].(*observe.Histogram)
		if !ok || all.Count() == 0 {
			continue
		}
		p := pointByID(s.Annotation, r.ID)
		spec := s.grid(p.Spec)
		choice := best[r.ID]
		if j := judgeOf[r.ID]; j != nil && j.scored {
			for i, e := range j.err {
				if j.grids[i].scale > 0 && e < j.err[choice] {
					choice = i
				}
			}
		}
		rule := rules[choice]
		var allMean observe.Observer
		if s.heldOut != nil {
			allMean = s.heldOut.allMean[r.ID]
		}
		lo, hi, ok := rule.apply(rangeSource{all, allMean}, spec.Levels())
		if !ok {
			rule = rules[0]
			lo, hi, _ = rule.apply(rangeSource{all, allMean}, spec.Levels())
		}
		chosen, err := observe.New(observe.KindMinMax)
		if err != nil {
			return err
		}
		if err := chosen.Observe([]float32{lo, hi}, nil); err != nil {
			return fmt.Errorf("tensor %q: range [%g, %g]: %w", r.Sites[0].Value, lo, hi, err)
		}
		s.Stats.Observers[r.ID] = chosen
		s.RangeRules[r.ID] = rule.name
		s.logf("choose-ranges: %q %s [%g, %g]", r.Sites[0].Value, rule.name, lo, hi)
	}
	counts := map[string]int{}
	for _, name := range s.RangeRules {
		counts[name]++
	}
	var summary []string
	for _, rule := range rules {
		if n := counts[rule.name]; n > 0 {
			summary = append(summary, fmt.Sprintf("%s %d", rule.name, n))
		}
	}
	s.logf("choose-ranges: %d tensors: %s", len(s.RangeRules), strings.Join(summary, ", "))
	return nil
}
