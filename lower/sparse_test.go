package lower_test

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/internal/testoracle"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// sparseModel is y = x*W + B over [2, 3], W a sparse initializer with
// linearized indices and B one with coordinates, as ONNX Runtime takes them.
func sparseModel() *onnxpb.ModelProto {
	b := testmodel.New(13).Input("x", 2, 3).Output("y", 2, 3)
	f32 := func(name string, v ...float32) *onnxpb.TensorProto {
		return &onnxpb.TensorProto{Name: proto.String(name), Dims: []int64{int64(len(v))},
			DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), FloatData: v}
	}
	i64 := func(name string, dims []int64, v ...int64) *onnxpb.TensorProto {
		return &onnxpb.TensorProto{Name: proto.String(name), Dims: dims,
			DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Int64Data: v}
	}
	g := b.Graph()
	g.SparseInitializer = []*onnxpb.SparseTensorProto{
		{Values: f32("W", 2, -3), Indices: i64("W_idx", []int64{2}, 1, 5), Dims: []int64{2, 3}},
		{Values: f32("B", 0.5, 4), Indices: i64("B_idx", []int64{2, 2}, 0, 0, 1, 1), Dims: []int64{2, 3}},
	}
	b.Node("Mul", []string{"x", "W"}, []string{"xw"})
	b.Node("Add", []string{"xw", "B"}, []string{"y"})
	return b.Model()
}

// A model with sparse initializers loads with them made dense: it runs
// like the original in ONNX Runtime (which takes sparse initializers) and
// gives the values worked out by hand, and the model written back holds
// ordinary initializers.
func TestSparseInitializersAreMadeDenseAtLoad(t *testing.T) {
	m := sparseModel()
	x := tensor.New(tensor.WithShape(2, 3), tensor.WithBacking([]float32{1, 2, 3, 4, 5, 6}))
	inputs := map[string]*tensor.Dense{"x": x}
	// W = [[0 2 0] [0 0 -3]], B = [[0.5 0 0] [0 4 0]].
	want := []float32{0.5, 4, 0, 0, 4, -18}

	gm, err := lower.Lower(m, "")
	if err != nil {
		t.Fatal(err)
	}
	raised, err := lower.Raise(gm)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(raised.GetGraph().GetSparseInitializer()); n != 0 {
		t.Errorf("the written model still holds %d sparse initializers", n)
	}
	var names []string
	for _, init := range raised.GetGraph().GetInitializer() {
		names = append(names, init.GetName())
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"B", "W"}) {
		t.Errorf("written initializers %v, want [B W]", names)
	}
	refs := testoracle.Originals(t, m, inputs)
	if len(refs) == 0 {
		t.Fatal("no oracle ran the model")
	}
	for _, r := range refs {
		if got := r.Want["y"].Data().([]float32); !slices.Equal(got, want) {
			t.Errorf("%s runs the sparse model to %v, want %v", r.Oracle.Name, got, want)
		}
		if got := r.Got(t, raised, inputs)["y"].Data().([]float32); !slices.Equal(got, want) {
			t.Errorf("%s runs the written (dense) model to %v, want %v", r.Oracle.Name, got, want)
		}
	}
}

// A malformed sparse initializer is a load error naming it.
func TestMalformedSparseInitializerIsALoadError(t *testing.T) {
	m := sparseModel()
	m.Graph.SparseInitializer[1].Indices.Int64Data[3] = 3 // column 3 of 3
	_, err := lower.Lower(m, "")
	if err == nil || !strings.Contains(err.Error(), `sparse initializer: sparse tensor "B"`) || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("Lower = %v, want an error naming sparse initializer \"B\" and its index out of range", err)
	}
}
