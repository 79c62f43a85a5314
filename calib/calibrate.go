package calib

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
	"sync"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/calib/observe"
	"github.com/onnxquant/onnxquant/calib/sample"
	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/internal/interp"
	"github.com/onnxquant/onnxquant/internal/kernels"
	"github.com/onnxquant/onnxquant/lower"
)

// Site names a tensor: its value name in a (sub)module, "" for the top level.
type Site struct {
	Module string `json:"module"`
	Value  string `json:"value"`
}

// Request asks for one observer fed by every listed tensor.
type Request struct {
	ID    int          `json:"id"`
	Spec  observe.Spec `json:"spec"`
	Sites []Site       `json:"sites"`
}

// Options tune a calibration run.
type Options struct {
	// Workers run samples in parallel; below 1 means 1. Results are the
	// same for any value.
	Workers int
	// Progress, when set, is called with 0 done when the samples start,
	// then after each sample with the number done.
	Progress func(done, total int)
}

// Stats is the result of calibration: observer states and how many samples
// reached each conditional submodule.
type Stats struct {
	Samples   int
	Requests  []Request
	Observers map[int]observe.Observer
	// Coverage counts the samples that executed each submodule at least
	// once; every submodule of the model has an entry.
	Coverage map[string]int
	// Source says what model, target and specialisation the stats were
	// made for (the caller's keys); merging stats of different sources is
	// an error, and a quantizer reading the stats compares it with its own.
	Source map[string]string
	// paths describes when each submodule runs (see describePath); it
	// travels in the stats file so merged shards report uncovered paths
	// without the model.
	paths map[string]UncoveredPath
}

// Calibrate runs every sample through gm in the float interpreter and
// observes the requested tensors. Samples are checked against gm's
// inputs; sample files come from OpenSamples, samples an application
// holds from any sample.Source. It fails on the first bad sample (naming
// it) and, after all samples, with an *UncoveredPathError when some
// submodule was never executed.
func Calibrate(ctx context.Context, gm *lower.GraphModule, samples sample.Source, reqs []Request, opts Options) (*Stats, error) {
	st, err := Observe(ctx, gm, samples, reqs, opts)
	if err != nil {
		return nil, err
	}
	if err := st.CheckCoverage(gm); err != nil {
		return st, err
	}
	return st, nil
}

// Observe is Calibrate without the coverage check, for shards whose
// coverage is checked after merging.
func Observe(ctx context.Context, gm *lower.GraphModule, samples sample.Source, reqs []Request, opts Options) (*Stats, error) {
	set, err := dataset.Of(samples, dataset.InputSpecs(gm))
	if err != nil {
		return nil, err
	}
	if set == nil {
		return nil, errors.New("calibration set is empty")
	}
	it, err := interp.New(gm, interp.Options{Workers: 1})
	if err != nil {
		return nil, err
	}
	return observeSet(ctx, it, set, reqs, opts)
}

func observeSet(ctx context.Context, it *interp.Interpreter, set *dataset.Set, reqs []Request, opts Options) (*Stats, error) {
	if set.Len() == 0 {
		return nil, errors.New("calibration set is empty")
	}
	workers := max(opts.Workers, 1)
	for _, r := range reqs {
		if r.Spec.Kind == observe.KindMovingAverageMinMax {
			// A moving average depends on the order of samples.
			workers = 1
		}
	}
	workers = min(workers, set.Len())
	shards := make([]*shard, workers)
	for w := range shards {
		s, err := newShard(it.Module(), reqs)
		if err != nil {
			return nil, err
		}
		shards[w] = s
	}
	// Worker w takes a contiguous block of samples, so each shard sees its
	// samples in data-set order.
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		done     int
		firstErr error
		errAt    = set.Len()
	)
	if opts.Progress != nil {
		opts.Progress(0, set.Len())
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for w := 0; w < workers; w++ {
		lo, hi := w*set.Len()/workers, (w+1)*set.Len()/workers
		wg.Add(1)
		go func(s *shard) {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				err := s.sample(ctx, it, set, i)
				mu.Lock()
				if err != nil {
					// A sample interrupted because another worker failed
					// is not an error of its own: report the real one.
					stopped := errors.Is(err, context.Canceled) && parent.Err() == nil
					if i < errAt && !stopped {
						firstErr, errAt = err, i
					}
					mu.Unlock()
					cancel()
					return
				}
				done++
				if opts.Progress != nil {
					opts.Progress(done, set.Len())
				}
				mu.Unlock()
			}
		}(shards[w])
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	st := shards[0].stats
	for _, s := range shards[1:] {
		if err := st.Merge(s.stats); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// shard is one worker's observers and coverage.
type shard struct {
	stats *Stats
	// watch maps module -> value name -> observers fed by it.
	watch   map[string]map[string][]observe.Observer
	reached map[string]bool
	err     error
}

func newShard(gm *lower.GraphModule, reqs []Request) (*shard, error) {
	s := &shard{stats: newStats(gm, reqs), watch: map[string]map[string][]observe.Observer{}}
	for _, r := range reqs {
		o, err := r.Spec.New()
		if err != nil {
			return nil, fmt.Errorf("observer %d: %w", r.ID, err)
		}
		s.stats.Observers[r.ID] = o
		for _, site := range r.Sites {
			if s.watch[site.Module] == nil {
				s.watch[site.Module] = map[string][]observe.Observer{}
			}
			s.watch[site.Module][site.Value] = append(s.watch[site.Module][site.Value], o)
		}
	}
	return s, nil
}

func newStats(gm *lower.GraphModule, reqs []Request) *Stats {
	st := &Stats{Requests: reqs, Observers: map[int]observe.Observer{}, Coverage: map[string]int{}, paths: map[string]UncoveredPath{}}
	if gm != nil {
		_ = gm.Walk(func(m *lower.GraphModule) error {
			if m.Name != "" {
				st.Coverage[m.Name] = 0
				st.paths[m.Name] = describePath(m)
			}
			return nil
		})
	}
	return st
}

func (s *shard) sample(ctx context.Context, it *interp.Interpreter, set *dataset.Set, i int) error {
	smp, err := set.Load(i)
	if err != nil {
		return err
	}
	s.reached = map[string]bool{}
	s.err = nil
	// The outputs are dropped and the observers keep no tensor, so nothing
	// refers to the inputs once Run returns.
	_, err = it.Run(ctx, smp.Inputs, s)
	set.Release(smp)
	if err != nil {
		return fmt.Errorf("sample %q: %w", smp.Name, err)
	}
	if s.err != nil {
		return fmt.Errorf("sample %q: %w", smp.Name, s.err)
	}
	s.stats.Samples++
	for m := range s.reached {
		if m != "" {
			s.stats.Coverage[m]++
		}
	}
	return nil
}

// Enter implements interp.Observer.
func (s *shard) Enter(module string) { s.reached[module] = true }

// DoesNotRetain implements interp.NonRetaining: observers fold each
// tensor into fixed-size state and keep no reference to it, so the
// interpreter may recycle the memory of dead values.
func (s *shard) DoesNotRetain() {}

// Value implements interp.Observer.
func (s *shard) Value(module string, v *lower.Value, t *tensor.Dense) {
	obs := s.watch[module][v.Name]
	// An empty tensor observes nothing: it holds no value to calibrate on.
	if len(obs) == 0 || s.err != nil || kernels.IsEmpty(t) {
		return
	}
	data, ok := t.Data().([]float32)
	if !ok {
		if f, isScalar := t.Data().(float32); isScalar {
			data = []float32{f}
		} else {
			return
		}
	}
	for _, o := range obs {
		if err := o.Observe(data, t.Shape()); err != nil {
			where := "tensor " + fmt.Sprintf("%q", v.Name)
			if module != "" {
				where += " in " + module
			}
			s.err = fmt.Errorf("%s: %w", where, err)
			return
		}
	}
}

// Merge folds another run's stats (same requests) into st.
func (st *Stats) Merge(o *Stats) error {
	if err := SameSource(st.Source, o.Source); err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	if !reflect.DeepEqual(normRequests(st.Requests), normRequests(o.Requests)) {
		return errors.New("merge: the stats come from different plans (their observer requests differ)")
	}
	// Counts come from files: a negative one, or a sum that wraps, would
	// turn into a wrong (negative) sample count in the merged stats.
	if st.Samples < 0 || o.Samples < 0 || st.Samples > math.MaxInt-o.Samples {
		return fmt.Errorf("merge: sample counts %d and %d are negative or overflow when added", st.Samples, o.Samples)
	}
	for m, n := range o.Coverage {
		if c := st.Coverage[m]; n < 0 || c < 0 || c > math.MaxInt-n {
			return fmt.Errorf("merge: submodule %q coverage counts %d and %d are negative or overflow when added", m, c, n)
		}
	}
	if len(st.Coverage) != len(o.Coverage) {
		return fmt.Errorf("merge: %d conditional submodules against %d: the stats come from different models", len(st.Coverage), len(o.Coverage))
	}
	for m := range o.Coverage {
		if _, ok := st.Coverage[m]; !ok {
			return fmt.Errorf("merge: submodule %q is unknown to the first stats: the stats come from different models", m)
		}
	}
	if len(st.Observers) != len(o.Observers) {
		return fmt.Errorf("merge: %d observers against %d: the stats come from different plans", len(st.Observers), len(o.Observers))
	}
	ids := make([]int, 0, len(st.Observers))
	for id := range st.Observers {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	for _, id := range ids {
		other, ok := o.Observers[id]
		if !ok {
			return fmt.Errorf("merge: observer %d is missing from the other stats", id)
		}
		if err := st.Observers[id].Merge(other); err != nil {
			return fmt.Errorf("merge: observer %d: %w", id, err)
		}
	}
	for m, n := range o.Coverage {
		st.Coverage[m] += n
	}
	for m, p := range o.paths {
		if _, ok := st.paths[m]; !ok {
			if st.paths == nil {
				st.paths = map[string]UncoveredPath{}
			}
			st.paths[m] = p
		}
	}
	st.Samples += o.Samples
	return nil
}

// UncoveredPathError reports conditional submodules no sample executed:
// their tensors have no observed range, and ExecuTorch would silently give
// them scale 1.0.
type UncoveredPathError struct {
	Paths []UncoveredPath
}

// UncoveredPath is one submodule no sample reached.
type UncoveredPath struct {
	Module    string `json:"module"`
	Condition string `json:"condition"`
	Hint      string `json:"hint"`
}

func (e *UncoveredPathError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d code path(s) reached by no calibration sample (their tensors cannot be calibrated):", len(e.Paths))
	for _, p := range e.Paths {
		fmt.Fprintf(&b, "\n  %s: taken when %s; add a sample %s", p.Module, p.Condition, p.Hint)
	}
	return b.String()
}

// CheckCoverage returns an *UncoveredPathError listing every submodule of
// gm that no sample reached. With a nil gm it uses the submodules and path
// descriptions the stats carry (a loaded or merged stats file).
func (st *Stats) CheckCoverage(gm *lower.GraphModule) error {
	var paths []UncoveredPath
	if gm == nil {
		for _, p := range st.pathList() {
			if st.Coverage[p.Module] == 0 {
				paths = append(paths, p)
			}
		}
		if len(paths) == 0 {
			return nil
		}
		return &UncoveredPathError{Paths: paths}
	}
	_ = gm.Walk(func(m *lower.GraphModule) error {
		if m.Name == "" || st.Coverage[m.Name] > 0 {
			return nil
		}
		paths = append(paths, describePath(m))
		return nil
	})
	if len(paths) == 0 {
		return nil
	}
	return &UncoveredPathError{Paths: paths}
}

func describePath(m *lower.GraphModule) UncoveredPath {
	owner := m.Owner
	p := UncoveredPath{Module: m.Name}
	attr := ""
	for _, b := range owner.Bodies {
		if b.Module == m.Name {
			attr = b.Attr
		}
	}
	node := owner.Meta.SourceName
	switch owner.Target.OpType {
	case "If":
		cond := "?"
		if len(owner.Inputs) > 0 && owner.Inputs[0] != nil {
			cond = owner.Inputs[0].Name
		}
		want := "true"
		if attr == "else_branch" {
			want = "false"
		}
		p.Condition = fmt.Sprintf("condition %q of If node %q is %s", cond, node, want)
		p.Hint = fmt.Sprintf("whose inputs make %q %s", cond, want)
	case "Loop":
		p.Condition = fmt.Sprintf("Loop node %q runs at least one iteration", node)
		p.Hint = "whose inputs give the loop a trip count of at least 1 and a true initial condition"
	default:
		p.Condition = fmt.Sprintf("%s node %q executes its %s", owner.Target.OpType, node, attr)
		p.Hint = "that makes it execute"
	}
	if parent := owner.Graph().Module; parent.Name != "" {
		p.Condition += " (inside " + parent.Name + ")"
	}
	return p
}

// pathList lists every submodule the stats know, with its path
// description when recorded, in name order.
func (st *Stats) pathList() []UncoveredPath {
	names := make([]string, 0, len(st.Coverage))
	for m := range st.Coverage {
		names = append(names, m)
	}
	sort.Strings(names)
	out := make([]UncoveredPath, 0, len(names))
	for _, m := range names {
		p, ok := st.paths[m]
		if !ok {
			p = UncoveredPath{Module: m, Condition: "its owner executes it", Hint: "that makes it execute"}
		}
		out = append(out, p)
	}
	return out
}

// normRequests returns reqs with normalised specs, so a spec written with
// defaults left out equals the same spec with them filled in.
// SamePlan reports whether the stats observe exactly reqs.
func (st *Stats) SamePlan(reqs []Request) error {
	if !reflect.DeepEqual(normRequests(st.Requests), normRequests(reqs)) {
		return fmt.Errorf("the stats observe %d tensor groups, the quantizer's plan %d or others: they were made for another model, config or quantizer version", len(st.Requests), len(reqs))
	}
	return nil
}

// SameSource compares two Source maps and names the first difference.
func SameSource(a, b map[string]string) error {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		if a[k] != b[k] {
			return fmt.Errorf("the stats were made for %s %q, not %q", k, a[k], b[k])
		}
	}
	return nil
}

func normRequests(reqs []Request) []Request {
	out := make([]Request, len(reqs))
	for i, r := range reqs {
		if n, err := r.Spec.Normalize(); err == nil {
			r.Spec = n
		}
		if len(r.Sites) == 0 {
			r.Sites = nil
		}
		out[i] = r
	}
	return out
}

var _ interp.NonRetaining = (*shard)(nil)
