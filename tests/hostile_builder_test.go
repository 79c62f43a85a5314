package tests

import (
	"testing"

	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// graphBuilder is testmodel's Builder with the short verbs the hostile
// input tests use, and direct access to the graph for the fields no
// builder sets (sparse initializers, odd attributes).
type graphBuilder struct {
	*testmodel.Builder
	g *onnxpb.GraphProto
}

func newGraph(string) *graphBuilder {
	b := testmodel.New(13)
	return &graphBuilder{Builder: b, g: b.Graph()}
}

func tensorInfo(name string, dt onnxpb.TensorProto_DataType, dims ...int64) *onnxpb.ValueInfoProto {
	return testmodel.ValueInfo(name, dt, dims)
}

func (b *graphBuilder) input(name string, dims ...int64) *graphBuilder {
	b.Input(name, dims...)
	return b
}

func (b *graphBuilder) output(name string, dt onnxpb.TensorProto_DataType, rank int) *graphBuilder {
	b.OutputOfRank(name, dt, rank)
	return b
}

func (b *graphBuilder) int64s(name string, vals ...int64) *graphBuilder {
	b.InitInt64(name, []int64{int64(len(vals))}, vals...)
	return b
}

func (b *graphBuilder) floats(name string, vals ...float32) *graphBuilder {
	b.Init(name, []int64{int64(len(vals))}, vals...)
	return b
}

func (b *graphBuilder) node(op, name string, in, out []string) *graphBuilder {
	b.NamedNode(name, op, in, out)
	return b
}

func (b *graphBuilder) save(t *testing.T, dir, name string) string {
	t.Helper()
	return b.Save(t, dir, name)
}
