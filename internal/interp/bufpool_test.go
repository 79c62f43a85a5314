package interp_test

import (
	"context"
	"testing"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/interp"
	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// viewModel makes r = Relu(x) die early while views of it (Identity,
// Flatten, a Reshape round trip) stay live, and then computes new values of
// r's size that a buffer pool ignoring views would write over r's memory:
//
//	y1 = Identity(r) + (x + x)
//	y2 = Flatten(r) * (x * x)
//	y3 = Reshape(Reshape(r, [3,2]), [2,3]) + Clip(x)
//	o  = Identity(Identity(r))   (an output that is a view of a dead value)
func viewModel(t *testing.T) *lower.GraphModule {
	t.Helper()
	shape := func(name string, v ...int64) *onnxpb.TensorProto {
		return &onnxpb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)),
			Dims: []int64{int64(len(v))}, Int64Data: v}
	}
	g := &onnxpb.GraphProto{
		Name:        proto.String("views"),
		Input:       []*onnxpb.ValueInfoProto{testmodel.ValueInfo("x", onnxpb.TensorProto_FLOAT, []int64{2, 3})},
		Initializer: []*onnxpb.TensorProto{shape("s32", 3, 2), shape("s23", 2, 3)},
		Output: []*onnxpb.ValueInfoProto{testmodel.ValueInfo("y1", onnxpb.TensorProto_FLOAT, []int64{2, 3}), testmodel.ValueInfo("y2", onnxpb.TensorProto_FLOAT, []int64{2, 3}),
			testmodel.ValueInfo("y3", onnxpb.TensorProto_FLOAT, []int64{2, 3}), testmodel.ValueInfo("o", onnxpb.TensorProto_FLOAT, []int64{2, 3})},
		Node: []*onnxpb.NodeProto{
			testmodel.NamedNode("relu", "Relu", []string{"x"}, []string{"r"}),
			testmodel.NamedNode("id", "Identity", []string{"r"}, []string{"v"}),
			testmodel.NamedNode("flat", "Flatten", []string{"r"}, []string{"f"}),
			testmodel.NamedNode("rs1", "Reshape", []string{"r", "s32"}, []string{"q"}),
			testmodel.NamedNode("rs2", "Reshape", []string{"q", "s23"}, []string{"back"}),
			testmodel.NamedNode("twice", "Add", []string{"x", "x"}, []string{"a"}),
			testmodel.NamedNode("square", "Mul", []string{"x", "x"}, []string{"b"}),
			testmodel.NamedNode("copy", "Clip", []string{"x"}, []string{"c"}),
			testmodel.NamedNode("y1", "Add", []string{"v", "a"}, []string{"y1"}),
			testmodel.NamedNode("y2", "Mul", []string{"f", "b"}, []string{"y2"}),
			testmodel.NamedNode("y3", "Add", []string{"back", "c"}, []string{"y3"}),
			testmodel.NamedNode("o", "Identity", []string{"v"}, []string{"o"}),
		},
	}
	m := &onnxpb.ModelProto{IrVersion: proto.Int64(8), Graph: g,
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(17)}}}
	gm, err := lower.Lower(m, "")
	if err != nil {
		t.Fatal(err)
	}
	return gm
}

// viewWant is viewModel's outputs for x, computed by hand in float32.
func viewWant(x []float32) map[string][]float32 {
	w := map[string][]float32{}
	for _, v := range x {
		r := max(v, 0)
		w["y1"] = append(w["y1"], r+(v+v))
		w["y2"] = append(w["y2"], r*(v*v))
		w["y3"] = append(w["y3"], r+v)
		w["o"] = append(w["o"], r)
	}
	return w
}

func checkOutputs(t *testing.T, label string, out map[string]*tensor.Dense, want map[string][]float32) {
	t.Helper()
	for name, w := range want {
		got := out[name].Data().([]float32)
		for i := range w {
			if got[i] != w[i] {
				t.Errorf("%s: %s = %v, want %v", label, name, got, w)
				break
			}
		}
	}
}

// nonRetaining checks what it is shown against hand-computed values at
// the time of the Value call, the only time the promise covers.
type nonRetaining struct {
	t    *testing.T
	want map[string][]float32
	seen int
}

func (o *nonRetaining) Enter(string)   {}
func (o *nonRetaining) DoesNotRetain() {}
func (o *nonRetaining) Value(_ string, v *lower.Value, d *tensor.Dense) {
	w, ok := o.want[v.Name]
	if !ok {
		return
	}
	o.seen++
	got := d.Data().([]float32)
	for i := range w {
		if got[i] != w[i] {
			o.t.Errorf("observed %s = %v, want %v", v.Name, got, w)
			return
		}
	}
}

// keeper keeps every tensor it is shown, as the Observer contract allows.
type keeper struct{ kept map[string]*tensor.Dense }

func (k *keeper) Enter(string) {}
func (k *keeper) Value(_ string, v *lower.Value, d *tensor.Dense) {
	k.kept[v.Name] = d
}

var _ interp.NonRetaining = (*nonRetaining)(nil)

func TestRecycledBuffersNeverOverwriteLiveViewsOrOutputs(t *testing.T) {
	it := newInterp(t, viewModel(t), 1)
	x1 := []float32{-1, 2, -3, 4, 0.5, -0.25}
	x2 := []float32{1, -2, 3, -4, -0.5, 0.25}
	want1, want2 := viewWant(x1), viewWant(x2)
	ctx := context.Background()

	// No observer: buffers are recycled within and across Runs.
	out1, err := it.Run(ctx, map[string]*tensor.Dense{"x": f32(t, []int{2, 3}, x1...)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkOutputs(t, "run 1", out1, want1)
	for i := 0; i < 3; i++ {
		out2, err := it.Run(ctx, map[string]*tensor.Dense{"x": f32(t, []int{2, 3}, x2...)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		checkOutputs(t, "run 2", out2, want2)
	}
	// The first Run's outputs belong to the caller: later Runs must not
	// have reused their memory.
	checkOutputs(t, "run 1 after later runs", out1, want1)

	// A non-retaining observer sees correct values when shown them.
	obs := &nonRetaining{t: t, want: map[string][]float32{}}
	for _, v := range x2 {
		obs.want["r"] = append(obs.want["r"], max(v, 0))
		obs.want["a"] = append(obs.want["a"], v+v)
		obs.want["b"] = append(obs.want["b"], v*v)
		obs.want["c"] = append(obs.want["c"], v)
	}
	if _, err := it.Run(ctx, map[string]*tensor.Dense{"x": f32(t, []int{2, 3}, x2...)}, obs); err != nil {
		t.Fatal(err)
	}
	if obs.seen != 4 {
		t.Errorf("observer saw %d of the 4 checked values", obs.seen)
	}
}

func TestRetainingObserverKeepsIntactTensors(t *testing.T) {
	it := newInterp(t, viewModel(t), 1)
	ctx := context.Background()
	x := []float32{-1, 2, -3, 4, 0.5, -0.25}
	// Warm the buffer cache so a wrongly pooled Run would have free
	// buffers of the right size at hand.
	if _, err := it.Run(ctx, map[string]*tensor.Dense{"x": f32(t, []int{2, 3}, x...)}, nil); err != nil {
		t.Fatal(err)
	}
	k := &keeper{kept: map[string]*tensor.Dense{}}
	if _, err := it.Run(ctx, map[string]*tensor.Dense{"x": f32(t, []int{2, 3}, x...)}, k); err != nil {
		t.Fatal(err)
	}
	// Another Run must not touch what the keeper holds either.
	if _, err := it.Run(ctx, map[string]*tensor.Dense{"x": f32(t, []int{2, 3}, 9, 9, 9, 9, 9, 9)}, nil); err != nil {
		t.Fatal(err)
	}
	want := map[string][]float32{
		"r":  {0, 2, 0, 4, 0.5, 0},
		"a":  {-2, 4, -6, 8, 1, -0.5},
		"b":  {1, 4, 9, 16, 0.25, 0.0625},
		"c":  x,
		"y1": {-2, 6, -6, 12, 1.5, -0.5},
	}
	checkOutputs(t, "kept", k.kept, want)
}
