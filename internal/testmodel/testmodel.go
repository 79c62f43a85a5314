// Package testmodel builds the small ONNX models that tests write by hand:
// a chained Builder for whole models and the value-info, node and tensor
// constructors it is made of, for tests that assemble graphs themselves.
// It depends on the protobuf types only, so every package's tests can use
// it.
package testmodel

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// ValueInfo declares a tensor value of element type dt. Dims nil leaves the
// shape (and rank) unknown; a negative dim is a dimension of unknown size.
func ValueInfo(name string, dt onnxpb.TensorProto_DataType, dims []int64) *onnxpb.ValueInfoProto {
	tt := &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(dt))}
	if dims != nil {
		sh := &onnxpb.TensorShapeProto{Dim: []*onnxpb.TensorShapeProto_Dimension{}}
		for _, d := range dims {
			dim := &onnxpb.TensorShapeProto_Dimension{}
			if d >= 0 {
				dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}
			}
			sh.Dim = append(sh.Dim, dim)
		}
		tt.Shape = sh
	}
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: tt}}}
}

// Node is a node named op_out0 (the first output's name), which keeps the
// names of hand-built graphs unique without spelling them out.
func Node(op string, in, out []string, attrs ...*onnxpb.AttributeProto) *onnxpb.NodeProto {
	return NamedNode(op+"_"+out[0], op, in, out, attrs...)
}

// NamedNode is a node with an explicit name, for tests about names (module
// paths such as /conv/Conv).
func NamedNode(name, op string, in, out []string, attrs ...*onnxpb.AttributeProto) *onnxpb.NodeProto {
	return &onnxpb.NodeProto{Name: proto.String(name), OpType: proto.String(op), Input: in, Output: out, Attribute: attrs}
}

// Float32s is a float tensor; name may be "" for a Constant's value.
func Float32s(name string, dims []int64, data ...float32) *onnxpb.TensorProto {
	return &onnxpb.TensorProto{Name: proto.String(name), Dims: dims,
		DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), FloatData: data}
}

// Int64s is an int64 tensor.
func Int64s(name string, dims []int64, data ...int64) *onnxpb.TensorProto {
	return &onnxpb.TensorProto{Name: proto.String(name), Dims: dims,
		DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Int64Data: data}
}

// Input is a graph input as the Builder declared it.
type Input struct {
	Name string
	Dims []int64
}

// Builder writes a model one call at a time:
//
//	m := testmodel.New(13).Input("x", 1, 4).Init("w", []int64{4, 2}, w...).
//		Node("MatMul", []string{"x", "w"}, []string{"y"}).Output("y", 1, 2).Model()
type Builder struct {
	g      *onnxpb.GraphProto
	opset  int64
	inputs []Input
}

// New starts a model that imports the default ONNX domain at opset.
func New(opset int64) *Builder {
	return &Builder{g: &onnxpb.GraphProto{Name: proto.String("test")}, opset: opset}
}

// Input declares a float graph input; no dims leaves its shape unknown.
func (b *Builder) Input(name string, dims ...int64) *Builder {
	return b.TypedInput(name, onnxpb.TensorProto_FLOAT, dims...)
}

// TypedInput declares a graph input of element type dt.
func (b *Builder) TypedInput(name string, dt onnxpb.TensorProto_DataType, dims ...int64) *Builder {
	b.g.Input = append(b.g.Input, ValueInfo(name, dt, dims))
	b.inputs = append(b.inputs, Input{name, dims})
	return b
}

// Output declares a float graph output; no dims leaves its shape unknown.
func (b *Builder) Output(name string, dims ...int64) *Builder {
	return b.TypedOutput(name, onnxpb.TensorProto_FLOAT, dims...)
}

// TypedOutput declares a graph output of element type dt; no dims leaves
// its shape unknown.
func (b *Builder) TypedOutput(name string, dt onnxpb.TensorProto_DataType, dims ...int64) *Builder {
	b.g.Output = append(b.g.Output, ValueInfo(name, dt, dims))
	return b
}

// OutputOfRank declares a graph output of known rank and unknown sizes.
func (b *Builder) OutputOfRank(name string, dt onnxpb.TensorProto_DataType, rank int) *Builder {
	dims := make([]int64, rank)
	for i := range dims {
		dims[i] = -1
	}
	b.g.Output = append(b.g.Output, ValueInfo(name, dt, dims))
	return b
}

// Shape declares the type of an intermediate value, as exporters do.
func (b *Builder) Shape(name string, dims ...int64) *Builder {
	b.g.ValueInfo = append(b.g.ValueInfo, ValueInfo(name, onnxpb.TensorProto_FLOAT, dims))
	return b
}

// Init adds a float initializer.
func (b *Builder) Init(name string, dims []int64, data ...float32) *Builder {
	b.g.Initializer = append(b.g.Initializer, Float32s(name, dims, data...))
	return b
}

// InitInt64 adds an int64 initializer.
func (b *Builder) InitInt64(name string, dims []int64, data ...int64) *Builder {
	b.g.Initializer = append(b.g.Initializer, Int64s(name, dims, data...))
	return b
}

// Node adds a node named op_out0.
func (b *Builder) Node(op string, in, out []string, attrs ...*onnxpb.AttributeProto) *Builder {
	b.g.Node = append(b.g.Node, Node(op, in, out, attrs...))
	return b
}

// NamedNode adds a node with an explicit name.
func (b *Builder) NamedNode(name, op string, in, out []string, attrs ...*onnxpb.AttributeProto) *Builder {
	b.g.Node = append(b.g.Node, NamedNode(name, op, in, out, attrs...))
	return b
}

// Const adds a Constant node holding a float tensor.
func (b *Builder) Const(out string, dims []int64, data ...float32) *Builder {
	value := Float32s("", dims, data...)
	value.Name = nil
	attr := &onnxpb.AttributeProto{Name: proto.String("value"), Type: onnxpb.AttributeProto_TENSOR.Enum(), T: value}
	return b.Node("Constant", nil, []string{out}, attr)
}

// Graph is the graph being built, for the odd edit no method covers.
func (b *Builder) Graph() *onnxpb.GraphProto { return b.g }

// Inputs lists the graph inputs in declaration order.
func (b *Builder) Inputs() []Input { return b.inputs }

// Model returns the model so far (IR version 8); later calls on b do not
// change it.
func (b *Builder) Model() *onnxpb.ModelProto {
	return &onnxpb.ModelProto{IrVersion: proto.Int64(8), ProducerName: proto.String("onnxquant-test"),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(b.opset)}},
		Graph:       proto.Clone(b.g).(*onnxpb.GraphProto)}
}

// Marshal is the serialized model.
func (b *Builder) Marshal(t testing.TB) []byte {
	t.Helper()
	raw, err := proto.Marshal(b.Model())
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// Save writes the model to dir/name and returns the path.
func (b *Builder) Save(t testing.TB, dir, name string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b.Marshal(t), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Ramp returns n deterministic pseudo-random values in [lo, hi).
func Ramp(seed uint64, n int, lo, hi float32) []float32 {
	r := rand.New(rand.NewPCG(seed, 11))
	out := make([]float32, n)
	for i := range out {
		out[i] = lo + (hi-lo)*r.Float32()
	}
	return out
}

// RandomInputs draws every graph input of b from a standard normal
// distribution, seeded.
func (b *Builder) RandomInputs(seed uint64) map[string]*tensor.Dense {
	r := rand.New(rand.NewPCG(seed, 7))
	out := map[string]*tensor.Dense{}
	for _, in := range b.inputs {
		shape := make([]int, len(in.Dims))
		n := 1
		for i, d := range in.Dims {
			shape[i] = int(d)
			n *= int(d)
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = float32(r.NormFloat64())
		}
		if len(shape) == 0 {
			out[in.Name] = tensor.New(tensor.FromScalar(data[0]))
			continue
		}
		out[in.Name] = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
	}
	return out
}
