package quantize

import (
	"context"
	"fmt"

	"github.com/onnxquant/onnxquant/calib"
	"github.com/onnxquant/onnxquant/calib/observe"
	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/qpass"
)

const planObserversDoc = `Turn the annotation's points into observer requests.

Points whose sites are all initializers are measured from their data
instead, and points with trained or derived qparams need no observer.`

func planObservers(_ context.Context, s *Session) error {
	s.Requests, s.ConstantPoints = observationPlan(s.Annotation, s.QAT, s.Trained, s.Options.Accuracy.observer())
	return nil
}

// observationPlan turns the annotation's points into calibration requests;
// points whose sites are all initializers are measured from the data
// instead and returned separately.
func observationPlan(ann *qpass.Annotation, qat bool, trained map[int]qpass.QParams, choice ObserverChoice) (reqs []calib.Request, constant []*qpass.Point) {
	for _, p := range ann.Points() {
		if _, ok := trained[p.ID]; ok || p.Derived() {
			continue
		}
		if p.Constant() {
			constant = append(constant, p)
			continue
		}
		r := calib.Request{ID: p.ID, Spec: observerSpec(p.Spec, qat, choice)}
		for _, site := range p.Sites {
			// A body sees an outer tensor through a capture, which the
			// interpreter does not report: observe it where it is made.
			v := site.Value.Source()
			r.Sites = append(r.Sites, calib.Site{Module: v.Producer.Graph().Module.Name, Value: v.Name})
		}
		reqs = append(reqs, r)
	}
	return reqs, constant
}

// observerSpec is the observer of a point: the spec's own, a moving
// average for QAT models, or min/max where the textbook configuration
// (--observer minmax) replaces the histogram search.
func observerSpec(spec *qpass.QSpec, qat bool, choice ObserverChoice) observe.Spec {
	switch {
	case qat:
		return observe.Spec{Kind: observe.KindMovingAverageMinMax}
	case spec.Observer == observe.KindHistogram && choice != ObserverMinMax:
		return observe.Spec{Kind: observe.KindHistogram}
	}
	return observe.Spec{Kind: observe.KindMinMax}
}

const calibrateDoc = `Run every sample through the float model and feed the observers.

Every conditional submodule must be reached by at least one sample; a path
no sample takes is an error naming it (calib.UncoveredPathError).`

func calibrate(ctx context.Context, s *Session) error {
	var err error
	s.Stats, err = calib.Calibrate(ctx, s.Module, s.Samples, s.Requests, calib.Options{Workers: s.Options.Workers, Progress: s.Options.Progress})
	return err
}

const computeQParamsDoc = `Turn observer states and initializer data into scales and zero points.

torchao's _calculate_qparams for each point's spec; trained QAT qparams
are kept as they are.`

func computeQParams(_ context.Context, s *Session) error {
	qp, err := qparamsOf(s.Annotation, s.Stats, s.ConstantPoints, s.Module.Root().Dir, s.grid)
	if err != nil {
		return err
	}
	for id, t := range s.Trained {
		qp[id] = t
	}
	s.QParams = qp
	return nil
}

// qparamsOf turns observer states and constant data into scales and zero
// points.
func qparamsOf(ann *qpass.Annotation, st *calib.Stats, constant []*qpass.Point, dir string, grid func(*qpass.QSpec) observe.QSpec) (map[int]qpass.QParams, error) {
	out := map[int]qpass.QParams{}
	for _, r := range st.Requests {
		p := pointByID(ann, r.ID)
		spec := grid(p.Spec)
		scale, zp, err := spec.ForObserver(st.Observers[r.ID])
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", r.Sites[0].Value, err)
		}
		out[p.ID] = qpass.QParams{Scale: scale, ZeroPoint: zp}
	}
	for _, p := range constant {
		spec := grid(p.Spec)
		kind := observe.KindMinMax
		if p.Spec.PerChannel {
			kind = observe.KindPerChannelMinMax
		}
		o, err := observe.Spec{Kind: kind, Axis: p.Axis}.New()
		if err != nil {
			return nil, err
		}
		for _, site := range p.Sites {
			t := site.Value.Producer.Initializer
			data, err := onnxio.Float32s(t, dir)
			if err != nil {
				return nil, fmt.Errorf("tensor %q: %w", site.Value.Name, err)
			}
			shape := make([]int, len(t.GetDims()))
			for i, d := range t.GetDims() {
				shape[i] = int(d)
			}
			if err := o.Observe(data, shape); err != nil {
				return nil, fmt.Errorf("tensor %q: %w", site.Value.Name, err)
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
