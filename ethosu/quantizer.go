package ethosu

import (
	"context"
	"fmt"
	"time"

	"github.com/onnxquant/onnxquant/calib"
	"github.com/onnxquant/onnxquant/calib/dataset"
	"github.com/onnxquant/onnxquant/calib/interp"
	"github.com/onnxquant/onnxquant/calib/observe"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
	"github.com/onnxquant/onnxquant/qpass"
)

// Quantizer is ExecuTorch's EthosUQuantizer for ONNX: configure it with
// the Set* methods (each returns the quantizer, as the Python setters
// return self), then QuantizeWithSubmodules.
type Quantizer struct {
	spec    CompileSpec
	configs qpass.ConfigSet
	// Workers is the number of calibration workers (the -j flag).
	Workers int
	// Progress receives calibration progress.
	Progress func(done, total int)
	// Log receives pass progress (the --verbose output).
	Log func(string)
	// DumpAfter logs the graph after the named transform pass.
	DumpAfter string
}

// NewEthosUQuantizer returns a quantizer for the target with the default
// configuration: SymmetricInt8 per channel as the global config.
func NewEthosUQuantizer(spec CompileSpec) *Quantizer {
	q := &Quantizer{spec: spec, configs: qpass.ConfigSet{ModuleName: map[string]*qpass.Config{}, ModuleType: map[string]*qpass.Config{}}}
	q.configs.Global = qpass.SymmetricInt8(true, false)
	if spec.U55Subset() {
		q.configs.Adjust = int8TablesOnU55()
	}
	return q
}

// int8TablesOnU55 runs TABLE ops and activation×activation MatMul at int8
// on U55/U65, whose TABLE and MATMUL have no int16 form; the int16 tensors
// around them are requantized.
func int8TablesOnU55() func(n *lower.Node, cfg *qpass.Config) *qpass.Config {
	table := tableOps()
	int8 := map[*qpass.Config]*qpass.Config{}
	return func(n *lower.Node, cfg *qpass.Config) *qpass.Config {
		if cfg.OutputActivation == nil || cfg.OutputActivation.DType != int32(onnxpb.TensorProto_INT16) {
			return cfg
		}
		op := n.Target.OpType
		actMatMul := op == "MatMul" && len(n.Inputs) > 1 && !constantOperand(n.Inputs[0]) && !constantOperand(n.Inputs[1])
		if !table[op] && !actMatMul {
			return cfg
		}
		if int8[cfg] == nil {
			c := *qpass.SymmetricInt8(cfg.Weight != nil && cfg.Weight.PerChannel, cfg.OutputActivation.Observer == qpass.MovingAverageMinMaxObserver)
			c.Name = cfg.Name + "(int8 on U55)"
			int8[cfg] = &c
		}
		return int8[cfg]
	}
}

// constantOperand reports whether an operand is an initializer, possibly
// read through body captures.
func constantOperand(v *lower.Value) bool {
	v = v.Source()
	return v != nil && v.Producer != nil && v.Producer.Op == lower.GetAttr
}

// CompileSpec returns the quantizer's target.
func (q *Quantizer) CompileSpec() CompileSpec { return q.spec }

// SetGlobal sets the config of every node no other entry claims; nil
// leaves them float, which Ethos-U cannot run.
func (q *Quantizer) SetGlobal(cfg *qpass.Config) *Quantizer { q.configs.Global = cfg; return q }

// SetIO sets the config of the graph inputs and outputs.
func (q *Quantizer) SetIO(cfg *qpass.Config) *Quantizer { q.configs.IO = cfg; return q }

// SetModuleName sets the config of the nodes inside a module (qualified
// name such as "layer1.0" or "slow"); the most specific name wins.
func (q *Quantizer) SetModuleName(name string, cfg *qpass.Config) *Quantizer {
	q.configs.ModuleName[name] = cfg
	return q
}

// SetModuleType sets the config of the nodes inside modules of a class (from
// the exporter's metadata) or of an ONNX op type.
func (q *Quantizer) SetModuleType(typ string, cfg *qpass.Config) *Quantizer {
	q.configs.ModuleType[typ] = cfg
	return q
}

// Configs returns the quantizer's configuration.
func (q *Quantizer) Configs() *qpass.ConfigSet { return &q.configs }

// usesInt16 reports whether any config quantizes activations to int16,
// which needs opset 21's QuantizeLinear.
func (q *Quantizer) usesInt16() bool {
	all := []*qpass.Config{q.configs.Global, q.configs.IO}
	for _, c := range q.configs.ModuleName {
		all = append(all, c)
	}
	for _, c := range q.configs.ModuleType {
		all = append(all, c)
	}
	for _, c := range all {
		if c != nil && c.OutputActivation != nil && c.OutputActivation.DType == int32(onnxpb.TensorProto_INT16) {
			return true
		}
	}
	return false
}

// TransformForAnnotation runs the pre-annotation passes: constant folding,
// BatchNorm folding, scalars to tensors, Div to Mul, decompositions of
// normalisations, Softmax, recurrent ops and (U55/U65) mirror padding, GELU
// recognition and the opset raise. Only nodes that will be quantized are decomposed.
func (q *Quantizer) TransformForAnnotation(gm *lower.GraphModule) error {
	target := int64(13)
	if q.usesInt16() {
		target = 21
	}
	ctx := &qpass.PassContext{
		ShouldQuantize: func(n *lower.Node) bool {
			cfg, _ := q.configs.ForNode(n)
			return cfg != nil
		},
		// U55/U65 have no mirror padding but run its Slice (REVERSE) and
		// Concat pieces; U85 has MIRROR_PAD and keeps the Pad.
		NeedsDecomposition: qpass.Decompositions{Softmax: true, ReflectPad: q.spec.U55Subset()},
		TargetOpset:        target,
		DumpAfter:          q.DumpAfter,
		Log:                q.Log,
	}
	return qpass.RunPasses(gm, qpass.TransformForAnnotationPasses(), ctx)
}

// Annotate decides the quantization points of gm (shapes must be known).
func (q *Quantizer) Annotate(gm *lower.GraphModule) (*qpass.Annotation, error) {
	return qpass.Annotate(gm, &q.configs)
}

// Result is a quantized model and what was learnt making it.
type Result struct {
	Module     *lower.GraphModule
	Model      *onnxpb.ModelProto
	Annotation *qpass.Annotation
	Stats      *calib.Stats
	QParams    map[int]qpass.QParams
	Legality   *Report
	Timings    map[string]time.Duration
}

// QuantizeWithSubmodules is ExecuTorch's _quantize_with_submodules for an
// ONNX GraphModule: transform for annotation, annotate every graph and
// conditional submodule, calibrate on samples (every code path must be
// reached by at least one sample), convert to QDQ and check the result
// against the target. gm is rewritten in place. With isQAT, existing
// QuantizeLinear/DequantizeLinear ranges are kept and the rest is
// calibrated with moving-average observers.
func (q *Quantizer) QuantizeWithSubmodules(ctx context.Context, gm *lower.GraphModule, samples *dataset.Set, isQAT bool) (*Result, error) {
	res := &Result{Module: gm, Timings: map[string]time.Duration{}}
	step := func(name string, fn func() error) error {
		start := time.Now()
		err := fn()
		res.Timings[name] = time.Since(start)
		return err
	}
	if samples == nil || samples.Len() == 0 {
		return nil, fmt.Errorf("no calibration samples")
	}
	var fixed map[string]qpass.FixedQParams
	if isQAT {
		var err error
		if fixed, err = qpass.AbsorbQDQ(gm); err != nil {
			return nil, err
		}
	}
	if err := step("transform", func() error { return q.prepare(ctx, gm, samples) }); err != nil {
		return nil, err
	}
	if err := step("precheck", func() error {
		res.Legality = CheckOperators(gm, q.spec)
		return res.Legality.Err()
	}); err != nil {
		return res, err
	}
	var ann *qpass.Annotation
	if err := step("annotate", func() (err error) { ann, err = q.Annotate(gm); return err }); err != nil {
		return nil, err
	}
	res.Annotation = ann
	trained, err := trainedQParams(ann, fixed)
	if err != nil {
		return nil, err
	}
	reqs, constant := observationPlan(ann, isQAT, trained)
	if err := step("calibrate", func() error {
		it, err := interp.New(gm, interp.Options{Workers: 1})
		if err != nil {
			return err
		}
		res.Stats, err = calib.Calibrate(ctx, it, samples, reqs, calib.Options{Workers: q.Workers, Progress: q.Progress})
		return err
	}); err != nil {
		return nil, err
	}
	qp, err := computeQParams(ann, res.Stats, constant, gm.Root().Dir)
	if err != nil {
		return nil, err
	}
	for id, t := range trained {
		qp[id] = t
	}
	res.QParams = qp
	if _, err := qpass.FitBiasRange(ann, qp, gm.Root().Dir); err != nil {
		return nil, err
	}
	if err := step("convert", func() error { return qpass.ConvertToQDQ(gm, ann, qp) }); err != nil {
		return nil, err
	}
	if err := step("check", func() error {
		res.Legality = Check(gm, q.spec)
		return res.Legality.Err()
	}); err != nil {
		return res, err
	}
	model, err := lower.Raise(gm)
	if err != nil {
		return nil, err
	}
	res.Model = model
	return res, nil
}

// observationPlan turns the annotation's points into calibration requests;
// points whose sites are all initializers are measured from the data
// instead and returned separately.
func observationPlan(ann *qpass.Annotation, qat bool, trained map[int]qpass.QParams) (reqs []calib.Request, constant []*qpass.Point) {
	for _, p := range ann.Points() {
		if _, ok := trained[p.ID]; ok || p.Derived() {
			continue
		}
		if p.Constant() {
			constant = append(constant, p)
			continue
		}
		r := calib.Request{ID: p.ID, Spec: observerSpec(p.Spec, qat)}
		for _, s := range p.Sites {
			// A body sees an outer tensor through a capture, which the
			// interpreter does not report: observe it where it is made.
			v := s.Value.Source()
			r.Sites = append(r.Sites, calib.Site{Module: v.Producer.Graph().Module.Name, Value: v.Name})
		}
		reqs = append(reqs, r)
	}
	return reqs, constant
}

func observerSpec(s *qpass.QSpec, qat bool) observe.Spec {
	switch {
	case qat:
		return observe.Spec{Kind: observe.KindMovingAverageMinMax}
	case s.Observer == qpass.HistogramObserver:
		return observe.Spec{Kind: observe.KindHistogram}
	}
	return observe.Spec{Kind: observe.KindMinMax}
}

// computeQParams turns observer states and constant data into scales and
// zero points with torchao's _calculate_qparams.
func computeQParams(ann *qpass.Annotation, st *calib.Stats, constant []*qpass.Point, dir string) (map[int]qpass.QParams, error) {
	out := map[int]qpass.QParams{}
	for _, r := range st.Requests {
		p := pointByID(ann, r.ID)
		spec := observe.QSpec{QMin: p.Spec.QMin, QMax: p.Spec.QMax, Symmetric: p.Spec.Symmetric, Eps: p.Spec.Eps}
		scale, zp, err := spec.ForObserver(st.Observers[r.ID])
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", r.Sites[0].Value, err)
		}
		out[p.ID] = qpass.QParams{Scale: scale, ZeroPoint: zp}
	}
	for _, p := range constant {
		spec := observe.QSpec{QMin: p.Spec.QMin, QMax: p.Spec.QMax, Symmetric: p.Spec.Symmetric, Eps: p.Spec.Eps}
		kind := observe.KindMinMax
		if p.Spec.PerChannel {
			kind = observe.KindPerChannelMinMax
		}
		o, err := observe.Spec{Kind: kind, Axis: p.Axis}.New()
		if err != nil {
			return nil, err
		}
		for _, s := range p.Sites {
			t := s.Value.Producer.Initializer
			data, err := onnxio.Float32s(t, dir)
			if err != nil {
				return nil, fmt.Errorf("tensor %q: %w", s.Value.Name, err)
			}
			shape := make([]int, len(t.GetDims()))
			for i, d := range t.GetDims() {
				shape[i] = int(d)
			}
			if err := o.Observe(data, shape); err != nil {
				return nil, fmt.Errorf("tensor %q: %w", s.Value.Name, err)
			}
		}
		scale, zp, err := spec.ForObserver(o)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", p.Sites[0].Value.Name, err)
		}
		out[p.ID] = qpass.QParams{Scale: scale, ZeroPoint: zp, Axis: p.Axis}
	}
	return out, nil
}

func pointByID(ann *qpass.Annotation, id int) *qpass.Point {
	return ann.PointByID(id)
}

// prepare sizes every tensor from the calibration data (calib.Specialize),
// runs the transform passes and sizes the tensors they made.
func (q *Quantizer) prepare(ctx context.Context, gm *lower.GraphModule, samples *dataset.Set) error {
	sp, err := calib.Specialize(ctx, gm, samples)
	if err != nil {
		return err
	}
	if err := q.TransformForAnnotation(gm); err != nil {
		return err
	}
	return sp.Infer(gm)
}
