package qpass_test

import (
	"math"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/testoracle"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
	"github.com/onnxquant/onnxquant/qpass"
)

// runPass lowers m, runs the passes and raises the result.
func runPass(t *testing.T, m *onnxpb.ModelProto, ctx *qpass.PassContext, passes ...qpass.Pass) *onnxpb.ModelProto {
	t.Helper()
	gm, err := lower.Lower(m, "")
	if err != nil {
		t.Fatal(err)
	}
	if ctx == nil {
		ctx = &qpass.PassContext{}
	}
	if err := qpass.RunPasses(gm, passes, ctx); err != nil {
		t.Fatal(err)
	}
	gm.EliminateDeadCode()
	out, err := lower.Raise(gm)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// pass finds a pass of the annotation pipeline by name.
func pass(t *testing.T, name string) qpass.Pass {
	t.Helper()
	for _, p := range qpass.TransformForAnnotationPasses() {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no pass %q", name)
	return qpass.Pass{}
}

func opTypes(m *onnxpb.ModelProto) []string {
	var ops []string
	for _, n := range m.Graph.Node {
		ops = append(ops, n.GetOpType())
	}
	return ops
}

func initializer(m *onnxpb.ModelProto, name string) *onnxpb.TensorProto {
	for _, t := range m.Graph.Initializer {
		if t.GetName() == name {
			return t
		}
	}
	return nil
}

// sameOutputs runs both models in every oracle (testoracle) and requires
// every output of want to match within rel, relative to the output's largest
// magnitude.
func sameOutputs(t *testing.T, want, got *onnxpb.ModelProto, inputs map[string]*tensor.Dense, rel float64) {
	t.Helper()
	for _, r := range testoracle.Originals(t, want, inputs) {
		g := r.Got(t, got, inputs)
		for name, wt := range r.Want {
			gt, ok := g[name]
			if !ok {
				t.Errorf("%s: output %s missing after the pass", r.Oracle.Name, name)
				continue
			}
			if e := maxRelErr(t, wt, gt); e > rel {
				t.Errorf("%s: output %s differs: max error %.3g relative to its largest value (limit %.0g)", r.Oracle.Name, name, e, rel)
			}
		}
	}
}

func asFloat64(t *testing.T, d *tensor.Dense) []float64 {
	t.Helper()
	switch v := d.Data().(type) {
	case []float32:
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
		return out
	case float32:
		return []float64{float64(v)}
	}
	t.Fatalf("output of type %T", d.Data())
	return nil
}

func maxRelErr(t *testing.T, want, got *tensor.Dense) float64 {
	t.Helper()
	if !want.Shape().Eq(got.Shape()) {
		t.Fatalf("shape %v, want %v", got.Shape(), want.Shape())
	}
	w, g := asFloat64(t, want), asFloat64(t, got)
	scale, diff := 0.0, 0.0
	for i := range w {
		scale = math.Max(scale, math.Abs(w[i]))
		diff = math.Max(diff, math.Abs(w[i]-g[i]))
	}
	if scale == 0 {
		return diff
	}
	return diff / scale
}

func boolScalar(v bool) *tensor.Dense { return tensor.New(tensor.FromScalar(v)) }
