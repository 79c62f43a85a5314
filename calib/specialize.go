package calib

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/calib/sample"
	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/internal/interp"
	"github.com/onnxquant/onnxquant/internal/kernels"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// Specialize fits a model to its calibration data. Ethos-U compiles static
// shapes, and the quantizer's transform passes (LSTM unrolling, constant
// folding of Shape arithmetic) need them. A model that declares
// every input size statically is inferred from its declaration. A model
// with dynamic input dimensions is specialised from the calibration data:
// a dimension every sample agrees on becomes fixed, and a dimension the
// samples disagree on (Silero's 512- and 256-sample frames) stays
// symbolic. Values inference cannot size then take the shape every
// execution of their graph saw: Silero's 16 kHz branch only ever runs on
// 512-sample frames and its 8 kHz branch on 256-sample ones, so each
// branch's LSTM has one sequence length even though the input's does not.

// shapeProfile records, per module and value name, the shape every
// execution saw, or nil when executions disagreed.
type shapeProfile struct {
	seen map[string]map[string][]int
	// shapeOf holds the results of Shape nodes, per module and value, or
	// nil when executions disagreed.
	shapeOf map[string]map[string][]int64
}

func (p *shapeProfile) Enter(string) {}

// DoesNotRetain: Value copies the shapes and Shape results it keeps, so
// the interpreter may reuse the memory of dead values while the samples
// are profiled, as it does while they are calibrated.
func (p *shapeProfile) DoesNotRetain() {}

var _ interp.NonRetaining = (*shapeProfile)(nil)

func (p *shapeProfile) Value(module string, v *lower.Value, t *tensor.Dense) {
	m := p.seen[module]
	if m == nil {
		m = map[string][]int{}
		p.seen[module] = m
	}
	shape := kernels.Dims(t)
	if shape == nil {
		shape = []int{}
	}
	prev, ok := m[v.Name]
	switch {
	case !ok:
		m[v.Name] = slices.Clone(shape)
	case prev != nil && !slices.Equal(prev, shape):
		m[v.Name] = nil
	}
	if v.Producer == nil || v.Producer.Target.OpType != "Shape" {
		return
	}
	data, isInt := t.Data().([]int64)
	if !isInt {
		return
	}
	sm := p.shapeOf[module]
	if sm == nil {
		sm = map[string][]int64{}
		p.shapeOf[module] = sm
	}
	prevShape, ok := sm[v.Name]
	switch {
	case !ok:
		sm[v.Name] = slices.Clone(data)
	case prevShape != nil && !slices.Equal(prevShape, data):
		sm[v.Name] = nil
	}
}

// specializeShapes replaces each Shape node inference could not evaluate
// by the result every execution of its graph agreed on. It reports how many
// it replaced.
func (p *shapeProfile) specializeShapes(gm *lower.GraphModule) int {
	n := 0
	_ = gm.Walk(func(m *lower.GraphModule) error {
		g := m.Graph
		for _, node := range slices.Clone(g.Nodes) {
			if node.Op != lower.CallFunction || node.Target.OpType != "Shape" || len(node.Outputs) != 1 || node.Outputs[0] == nil {
				continue
			}
			if len(node.Inputs) == 1 && sized(node.Inputs[0]) {
				continue // constant folding evaluates it
			}
			out := node.Outputs[0]
			vals := p.shapeOf[m.Name][out.Name]
			if vals == nil || out.IsGraphOutput() {
				continue
			}
			t := &onnxpb.TensorProto{Dims: []int64{int64(len(vals))}, DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Int64Data: slices.Clone(vals)}
			c := g.NewInitializer(out.Name+"_static", t)
			g.ReplaceAllUses(out, c)
			g.RemoveNode(node)
			n++
		}
		return nil
	})
	return n
}

// staticInputs reports whether every graph input declares all its sizes.
func staticInputs(gm *lower.GraphModule) bool {
	for _, p := range gm.Graph.Placeholders() {
		if !sized(p.Outputs[0]) {
			return false
		}
	}
	return true
}

// declaredShapes are the input shapes of a fully static model.
func declaredShapes(gm *lower.GraphModule) map[string][]int64 {
	shapes := map[string][]int64{}
	for _, p := range gm.Graph.Placeholders() {
		v := p.Outputs[0]
		s := make([]int64, len(v.Shape))
		for i, d := range v.Shape {
			s[i] = d.Value
		}
		shapes[v.Name] = s
	}
	return shapes
}

// profileShapes runs every sample through the float model and records the
// shapes it sees, telling progress (when set) as calibration does.
func profileShapes(ctx context.Context, gm *lower.GraphModule, samples *dataset.Set, progress func(done, total int)) (*shapeProfile, error) {
	it, err := interp.New(gm, interp.Options{Workers: 1})
	if err != nil {
		return nil, err
	}
	prof := &shapeProfile{seen: map[string]map[string][]int{}, shapeOf: map[string]map[string][]int64{}}
	if progress != nil {
		progress(0, samples.Len())
	}
	for i := 0; i < samples.Len(); i++ {
		s, err := samples.Load(i)
		if err != nil {
			return nil, err
		}
		if _, err := it.Run(ctx, s.Inputs, prof); err != nil {
			return nil, fmt.Errorf("sample %q: %w", s.Name, err)
		}
		if progress != nil {
			progress(i+1, samples.Len())
		}
	}
	return prof, nil
}

// inputShapes are the graph input shapes inference starts from: the
// profile's agreed sizes, -1 where the samples disagree.
func (p *shapeProfile) inputShapes(gm *lower.GraphModule) map[string][]int64 {
	shapes := map[string][]int64{}
	for _, ph := range gm.Graph.Placeholders() {
		v := ph.Outputs[0]
		s, ok := p.seen[""][v.Name]
		if !ok {
			continue
		}
		if s != nil {
			shapes[v.Name] = toInt64(s)
			continue
		}
		if !v.HasShape {
			continue
		}
		// The samples disagree: keep what every sample of the rank agrees on.
		dims := make([]int64, len(v.Shape))
		for i, d := range v.Shape {
			dims[i] = -1
			if d.Known() {
				dims[i] = d.Value
			}
		}
		shapes[v.Name] = dims
	}
	return shapes
}

// fill gives every value inference left partly unsized the shape all
// executions agreed on. It reports how many values it sized.
func (p *shapeProfile) fill(gm *lower.GraphModule) int {
	n := 0
	_ = gm.Walk(func(m *lower.GraphModule) error {
		seen := p.seen[m.Name]
		for _, node := range m.Graph.Nodes {
			if node.Op != lower.CallFunction && node.Op != lower.CallModule {
				continue
			}
			for _, v := range node.Outputs {
				if v == nil || sized(v) {
					continue
				}
				s := seen[v.Name]
				if s == nil || (v.HasShape && len(v.Shape) != len(s)) {
					continue
				}
				v.Shape, v.HasShape = make([]lower.Dim, len(s)), true
				for i, d := range s {
					v.Shape[i] = lower.Dim{Value: int64(d)}
				}
				n++
			}
		}
		return nil
	})
	return n
}

// sized reports whether every dimension of v is known.
func sized(v *lower.Value) bool {
	if !v.HasShape {
		return false
	}
	for _, d := range v.Shape {
		if !d.Known() {
			return false
		}
	}
	return true
}

func toInt64(s []int) []int64 {
	out := make([]int64, len(s))
	for i, d := range s {
		out[i] = int64(d)
	}
	return out
}

// Specialization sizes the tensors of a model the way its calibration data
// does; Infer re-sizes them after later rewrites.
type Specialization struct {
	shapes map[string][]int64
	prof   *shapeProfile
}

// Specialize sizes every tensor of gm from its declared input shapes or,
// for dynamic inputs, from running the samples (see above), folds the
// shape arithmetic that became constant, and inlines the If nodes whose
// condition did: exporters write shape checks as If nodes, and their
// branches that no shape can take are not code paths the data must cover.
// The quantizer runs the same three steps as stages of its own table.
func Specialize(ctx context.Context, gm *lower.GraphModule, samples sample.Source) (*Specialization, error) {
	sp, err := BindShapes(ctx, gm, samples, Options{})
	if err != nil {
		return nil, err
	}
	if _, err := lower.FoldConstants(gm); err != nil {
		return nil, err
	}
	if _, err := sp.InlineConstantIfs(gm); err != nil {
		return nil, err
	}
	return sp, nil
}

// BindShapes sizes every tensor of gm from its declared input shapes or,
// for dynamic inputs, from running the samples, and replaces the Shape
// nodes inference could not evaluate by the result every execution agreed
// on.
//
// Running the samples is a counted phase: opts.Progress, when set, is
// called with 0 done when they start and after each one (opts.Workers is
// not used: the executions run one after the other).
func BindShapes(ctx context.Context, gm *lower.GraphModule, samples sample.Source, opts Options) (*Specialization, error) {
	sp := &Specialization{shapes: declaredShapes(gm)}
	if !staticInputs(gm) {
		set, err := dataset.Of(samples, dataset.InputSpecs(gm))
		if err != nil {
			return nil, fmt.Errorf("sizing tensors from the calibration data: %w", err)
		}
		if set == nil {
			return nil, errors.New("sizing tensors from the calibration data: the model has dynamic inputs and no samples were given")
		}
		prof, err := profileShapes(ctx, gm, set, opts.Progress)
		if err != nil {
			return nil, fmt.Errorf("sizing tensors from the calibration data: %w", err)
		}
		sp.prof, sp.shapes = prof, prof.inputShapes(gm)
	}
	if err := sp.Infer(gm); err != nil {
		return nil, err
	}
	if sp.prof != nil && sp.prof.specializeShapes(gm) > 0 {
		if err := sp.Infer(gm); err != nil {
			return nil, err
		}
	}
	return sp, nil
}

// InlineConstantIfs inlines the If nodes whose condition is constant
// (lower.InlineConstantIfs) and re-sizes the tensors when it did.
func (sp *Specialization) InlineConstantIfs(gm *lower.GraphModule) (bool, error) {
	inlined, err := lower.InlineConstantIfs(gm)
	if err != nil || !inlined {
		return inlined, err
	}
	return true, sp.Infer(gm)
}

// Infer runs shape inference with the specialized input shapes and gives
// values inference cannot size the shape every execution saw.
func (sp *Specialization) Infer(gm *lower.GraphModule) error {
	if err := lower.InferShapes(gm, sp.shapes); err != nil {
		return err
	}
	if sp.prof != nil && sp.prof.fill(gm) > 0 {
		if err := lower.InferShapes(gm, sp.shapes); err != nil {
			return err
		}
		sp.prof.fill(gm)
	}
	return nil
}
