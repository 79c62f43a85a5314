package evaluate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/internal/interp"
	"github.com/onnxquant/onnxquant/internal/metrics"
	"github.com/onnxquant/onnxquant/lower"
)

// Options tune an evaluation.
type Options struct {
	// Workers run samples in parallel; below 1 means 1. The report is the
	// same for any value: sums are reduced in sample order.
	Workers int
	// Progress, when set, is called with 0 done when the samples start,
	// then after each sample.
	Progress func(done, total int)
	// Threshold is the decision threshold of probability outputs; 0 means 0.5.
	Threshold float32
	// HintBelow is the activation SQNR under which a module is proposed
	// for a16w8; 0 means 30 dB.
	HintBelow float64
	// MaxHints caps the number of hints; 0 means 3.
	MaxHints int
	// MaxSamples, when above 0, evaluates only the set's first samples.
	MaxSamples int
	// Sensitivity measures, for every hint, the output SQNR gained when
	// that tensor alone is left float (EvaluateFiles only: each
	// measurement evaluates a fresh copy of the quantized model).
	Sensitivity bool
	// Promoter, with Sensitivity, measures each hint by quantizing the
	// float model again with the hint's module or node at a16w8; the
	// float bypass is then only the diagnostic where the target forbids
	// the promotion.
	Promoter Promoter
}

// Promoter quantizes the float model again: as it was (Baseline), and
// with one module or node moved to a16w8 (Promote). Promote returns a
// *ForbiddenError when the target runs none of its nodes at 16 bits.
type Promoter interface {
	Baseline(ctx context.Context) (*lower.GraphModule, error)
	Promote(ctx context.Context, module, node string) (gm *lower.GraphModule, config []string, err error)
}

// ForbiddenError says the target cannot run a module or node at 16 bits.
type ForbiddenError struct{ Why string }

func (e *ForbiddenError) Error() string {
	return "the target forbids 16-bit activations there: " + e.Why
}

// Evaluate runs every sample of set through the float model and the
// quantized QDQ model made from it and compares them. Neither module is
// modified. A sample that fails in either model fails the evaluation,
// naming it; a cancelled ctx returns an error wrapping ctx.Err().
func Evaluate(ctx context.Context, floatGM, quantGM *lower.GraphModule, set *dataset.Set, opts Options) (*Report, error) {
	if set == nil || set.Len() == 0 {
		return nil, errors.New("evaluate: no samples")
	}
	fit, err := interp.New(floatGM, interp.Options{Workers: 1})
	if err != nil {
		return nil, fmt.Errorf("float model: %w", err)
	}
	qit, err := interp.New(quantGM, interp.Options{Workers: 1})
	if err != nil {
		return nil, fmt.Errorf("quantized model: %w", err)
	}
	ps, err := pairs(floatGM, quantGM)
	if err != nil {
		return nil, err
	}
	outs := outputNames(floatGM)
	if opts.Threshold == 0 {
		opts.Threshold = 0.5
	}
	e := &evaluator{fit: fit, qit: qit, pairs: ps, outputs: outs, set: set, threshold: opts.Threshold}
	results, err := e.runAll(ctx, opts)
	if err != nil {
		return nil, err
	}
	return e.report(results, opts), nil
}

type evaluator struct {
	fit, qit  *interp.Interpreter
	pairs     []pair
	outputs   []string
	set       *dataset.Set
	threshold float32
}

// sampleResult is what one sample contributes; results are reduced in
// sample order so the report does not depend on the number of workers.
type sampleResult struct {
	layers  []metrics.Accumulator
	local   []localStats
	outputs []metrics.Accumulator
	argRef  [][]int
	argGot  [][]int
	thrRef  [][]int
	thrGot  [][]int
	// unit is false for an output with a float value outside [0, 1].
	unit []bool
}

func (e *evaluator) runAll(ctx context.Context, opts Options) ([]*sampleResult, error) {
	n := e.set.Len()
	if opts.MaxSamples > 0 {
		n = min(n, opts.MaxSamples)
	}
	workers := min(max(opts.Workers, 1), n)
	results := make([]*sampleResult, n)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		done     int
		firstErr error
		errAt    = n
	)
	if opts.Progress != nil {
		opts.Progress(0, n)
	}
	for w := 0; w < workers; w++ {
		lo, hi := w*n/workers, (w+1)*n/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				r, err := e.sample(ctx, i)
				mu.Lock()
				if err != nil {
					if i < errAt && (firstErr == nil || !errors.Is(err, context.Canceled)) {
						firstErr, errAt = err, i
					}
					mu.Unlock()
					cancel()
					return
				}
				results[i] = r
				done++
				if opts.Progress != nil {
					opts.Progress(done, n)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return results, nil
}

// sample runs sample i through both models.
func (e *evaluator) sample(ctx context.Context, i int) (*sampleResult, error) {
	smp, err := e.set.Load(i)
	if err != nil {
		return nil, err
	}
	fkeys := make([]Key, 0, len(e.pairs))
	qkeys := make([]Key, 0, len(e.pairs))
	for _, p := range e.pairs {
		if p.kind == KindActivation {
			fkeys = append(fkeys, p.float)
		}
		qkeys = append(qkeys, p.quant)
	}
	fcap, qcap := NewCapture(fkeys...), NewCapture(qkeys...)
	fout, err := e.fit.Run(ctx, smp.Inputs, fcap)
	if err != nil {
		return nil, fmt.Errorf("sample %q: float model: %w", smp.Name, err)
	}
	qout, err := e.qit.Run(ctx, smp.Inputs, qcap)
	if err != nil {
		return nil, fmt.Errorf("sample %q: quantized model: %w", smp.Name, err)
	}
	r := &sampleResult{
		layers:  make([]metrics.Accumulator, len(e.pairs)),
		local:   make([]localStats, len(e.pairs)),
		outputs: make([]metrics.Accumulator, len(e.outputs)),
		argRef:  make([][]int, len(e.outputs)), argGot: make([][]int, len(e.outputs)),
		thrRef: make([][]int, len(e.outputs)), thrGot: make([][]int, len(e.outputs)),
		unit: make([]bool, len(e.outputs)),
	}
	for j, p := range e.pairs {
		got := qcap.Values(p.quant)
		if p.kind == KindWeight {
			if len(got) > 0 {
				if q, ok := float32s(got[0]); ok && len(q) == len(p.weight) {
					r.layers[j].Add(p.weight, q)
				}
			}
			continue
		}
		ref := fcap.Values(p.float)
		// Occurrences pair in execution order (Loop iterations); a body
		// run a different number of times in the two models compares the
		// common prefix.
		for k := 0; k < min(len(ref), len(got)); k++ {
			f, ok1 := float32s(ref[k])
			q, ok2 := float32s(got[k])
			if ok1 && ok2 && len(f) == len(q) {
				r.layers[j].Add(f, q)
			}
			if ok1 && p.grid != nil {
				r.local[j].add(f, p.grid)
			}
		}
	}
	for j, name := range e.outputs {
		ft, qt := fout[name], qout[name]
		if ft == nil || qt == nil {
			return nil, fmt.Errorf("sample %q: output %q is missing from the %s model", smp.Name, name, map[bool]string{true: "float", false: "quantized"}[ft == nil])
		}
		f, ok1 := float32s(ft)
		q, ok2 := float32s(qt)
		if !ok1 || !ok2 || len(f) != len(q) {
			return nil, fmt.Errorf("sample %q: output %q: float %v and quantized %v tensors differ in type or size", smp.Name, name, ft.Shape(), qt.Shape())
		}
		r.outputs[j].Add(f, q)
		if d := lastDim(ft); d > 1 && !(j > 0 && carriedState(ft, smp.Inputs)) {
			r.argRef[j], r.argGot[j] = metrics.Argmax(f, d), metrics.Argmax(q, d)
		}
		r.unit[j] = true
		for _, v := range f {
			if v < 0 || v > 1 {
				r.unit[j] = false
				break
			}
		}
		r.thrRef[j], r.thrGot[j] = metrics.Threshold(f, e.threshold), metrics.Threshold(q, e.threshold)
	}
	return r, nil
}

// merge folds b into a.
func merge(a *metrics.Accumulator, b metrics.Accumulator) {
	a.Signal += b.Signal
	a.Noise += b.Noise
	a.MaxAbs = math.Max(a.MaxAbs, b.MaxAbs)
	a.N += b.N
	a.Peak = math.Max(a.Peak, b.Peak)
	a.LogSum += b.LogSum
	a.NonZero += b.NonZero
}

func (e *evaluator) report(results []*sampleResult, opts Options) *Report {
	rep := &Report{Samples: len(results)}
	for j, name := range e.outputs {
		var acc metrics.Accumulator
		var ar, ag, tr, tg []int
		unit := true
		for _, r := range results {
			merge(&acc, r.outputs[j])
			ar, ag = append(ar, r.argRef[j]...), append(ag, r.argGot[j]...)
			tr, tg = append(tr, r.thrRef[j]...), append(tg, r.thrGot[j]...)
			unit = unit && r.unit[j]
		}
		sqnr := acc.SQNR()
		o := Output{Name: name, SQNR: DB(sqnr), SQNRInfinite: math.IsInf(sqnr, 1), MaxAbsError: acc.MaxAbs}
		if len(ar) > 0 {
			a := metrics.Agreement(ar, ag)
			o.ArgmaxAgreement = &a
		}
		if unit {
			a := metrics.Agreement(tr, tg)
			o.ThresholdAgreement = &a
		}
		rep.Outputs = append(rep.Outputs, o)
	}
	for j, p := range e.pairs {
		var acc metrics.Accumulator
		for _, r := range results {
			merge(&acc, r.layers[j])
		}
		if acc.N == 0 {
			continue
		}
		var local localStats
		for _, r := range results {
			local.merge(r.local[j])
		}
		sqnr := acc.SQNR()
		l := Layer{
			Name: p.float.Name, Submodule: p.float.Module, Module: p.module, Node: p.node, Kind: p.kind, Bits: p.bits,
			SQNR: DB(sqnr), SQNRInfinite: math.IsInf(sqnr, 1), MaxAbsError: acc.MaxAbs, Count: acc.N, Decades: acc.Decades(),
		}
		if local.total > 0 {
			ls := DB(local.acc.SQNR())
			l.LocalSQNR = &ls
			l.OutOfRange = float64(local.outside) / float64(local.total)
			l.RangeExcess = local.excess
		}
		rep.Layers = append(rep.Layers, l)
	}
	// Biases (int32 weights) never lead: bias correction changes them on
	// purpose, and their error is the layer's, which its output shows.
	sort.SliceStable(rep.Layers, func(a, b int) bool {
		if ba, bb := isBias(rep.Layers[a]), isBias(rep.Layers[b]); ba != bb {
			return bb
		}
		return rep.Layers[a].SQNR < rep.Layers[b].SQNR
	})
	rep.Hints = hints(rep.Layers, opts)
	return rep
}

// hints proposes a16w8 for the layers whose own quantization loses the
// most: ranked by local SQNR (the error a tensor's grid adds to exact
// inputs), not by the accumulated SQNR, which follows the error of
// everything before a layer and so names the last layers of a network
// rather than the one that caused the loss. A hint names the module, or
// the node where the exporter left no module path. Weights stay int8
// under a16w8, so they never make a hint.
func hints(layers []Layer, opts Options) []Hint {
	below := opts.HintBelow
	if below == 0 {
		below = 30
	}
	limit := opts.MaxHints
	if limit == 0 {
		limit = 3
	}
	byLocal := make([]Layer, 0, len(layers))
	for _, l := range layers {
		if l.Kind == KindActivation && l.Bits == 8 && l.LocalSQNR != nil {
			byLocal = append(byLocal, l)
		}
	}
	sort.SliceStable(byLocal, func(a, b int) bool { return *byLocal[a].LocalSQNR < *byLocal[b].LocalSQNR })
	var out []Hint
	seen := map[string]bool{}
	for _, l := range byLocal {
		if len(out) >= limit || float64(*l.LocalSQNR) >= below {
			break
		}
		h := Hint{Module: l.Module, WorstSQNR: *l.LocalSQNR, Scheme: "a16w8", Tensor: l.Name, OutOfRange: l.OutOfRange}
		key, name := "module_name", l.Module
		if name == "" {
			key, name, h.Node = "node_name", l.Node, l.Node
		}
		// Data movement after a layer (Flatten, Reshape) shares its grid
		// and repeats its error: one hint per quantization step.
		step := fmt.Sprintf("%.2f/%g", float64(*l.LocalSQNR), l.OutOfRange)
		if name == "" || seen[key+name] || seen[step] {
			continue
		}
		seen[key+name], seen[step] = true, true
		h.Config = fmt.Sprintf("%s: {%s: a16w8}", key, name)
		out = append(out, h)
	}
	return out
}

func isBias(l Layer) bool { return l.Kind == KindWeight && l.Bits == 32 }

// carriedState reports whether an output has the shape of a model input.
// Among the outputs after the first, that is a recurrent state handed back
// to the next call (Silero's hn and cn), whose argmax decides nothing.
func carriedState(out *tensor.Dense, inputs map[string]*tensor.Dense) bool {
	for _, in := range inputs {
		if slices.Equal(in.Shape(), out.Shape()) {
			return true
		}
	}
	return false
}
