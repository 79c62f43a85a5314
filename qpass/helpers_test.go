package qpass_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/testoracle"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
	"github.com/onnxquant/onnxquant/qpass"
)

// modelBuilder writes small float models by hand.
type modelBuilder struct {
	g      *onnxpb.GraphProto
	opset  int64
	inputs map[string][]int64
}

func newModel(opset int64) *modelBuilder {
	return &modelBuilder{g: &onnxpb.GraphProto{Name: proto.String("test")}, opset: opset, inputs: map[string][]int64{}}
}

func valueInfo(name string, dims []int64) *onnxpb.ValueInfoProto {
	vi := &onnxpb.ValueInfoProto{Name: proto.String(name)}
	tt := &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT))}
	if dims != nil {
		sh := &onnxpb.TensorShapeProto{Dim: []*onnxpb.TensorShapeProto_Dimension{}}
		for _, d := range dims {
			sh.Dim = append(sh.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
		}
		tt.Shape = sh
	}
	vi.Type = &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: tt}}
	return vi
}

func (b *modelBuilder) input(name string, dims ...int64) *modelBuilder {
	b.g.Input = append(b.g.Input, valueInfo(name, dims))
	b.inputs[name] = dims
	return b
}

// output declares a float output; dims nil leaves the shape unknown.
func (b *modelBuilder) output(name string, dims ...int64) *modelBuilder {
	b.g.Output = append(b.g.Output, valueInfo(name, dims))
	return b
}

// shape declares the type of an intermediate value, as exporters do.
func (b *modelBuilder) shape(name string, dims ...int64) *modelBuilder {
	b.g.ValueInfo = append(b.g.ValueInfo, valueInfo(name, dims))
	return b
}

func (b *modelBuilder) init(name string, dims []int64, data ...float32) *modelBuilder {
	b.g.Initializer = append(b.g.Initializer, &onnxpb.TensorProto{Name: proto.String(name), Dims: dims,
		DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), FloatData: data})
	return b
}

func (b *modelBuilder) node(op string, in, out []string, attrs ...*onnxpb.AttributeProto) *modelBuilder {
	b.g.Node = append(b.g.Node, &onnxpb.NodeProto{Name: proto.String(op + "_" + out[0]), OpType: proto.String(op), Input: in, Output: out, Attribute: attrs})
	return b
}

func (b *modelBuilder) model() *onnxpb.ModelProto {
	return &onnxpb.ModelProto{IrVersion: proto.Int64(8), ProducerName: proto.String("qpass-test"),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(b.opset)}},
		Graph:       b.g}
}

// constNode is a Constant node holding a float tensor.
func (b *modelBuilder) constNode(out string, dims []int64, data ...float32) *modelBuilder {
	t := &onnxpb.TensorProto{Dims: dims, DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), FloatData: data}
	return b.node("Constant", nil, []string{out}, lower.TensorAttr("value", t))
}

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

func randomInputs(b *modelBuilder, seed uint64) map[string]*tensor.Dense {
	r := rand.New(rand.NewPCG(seed, 7))
	out := map[string]*tensor.Dense{}
	for name, dims := range b.inputs {
		shape := make([]int, len(dims))
		n := 1
		for i, d := range dims {
			shape[i] = int(d)
			n *= int(d)
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = float32(r.NormFloat64())
		}
		out[name] = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
	}
	return out
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
