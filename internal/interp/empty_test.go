package interp_test

import (
	"context"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/kernels"
	"github.com/onnxquant/onnxquant/internal/ortoracle"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

func int64Init(name string, dims []int64, v ...int64) *onnxpb.TensorProto {
	return &onnxpb.TensorProto{Name: proto.String(name), Dims: dims, DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Int64Data: v}
}

func floatInit(name string, dims []int64, v ...float32) *onnxpb.TensorProto {
	return &onnxpb.TensorProto{Name: proto.String(name), Dims: dims, DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), FloatData: v}
}

// emptyTensorsModel holds the zero-element forms exporters write: an empty
// Slice of a shape joined by Concat into a Reshape target, Resize's empty
// roi (an initializer and a Constant), ReduceSum's empty axes (reduce all),
// an empty Slice of data that flows through an elementwise op, is
// concatenated with a full tensor and is a graph output.
func emptyTensorsModel() *onnxpb.ModelProto {
	n := func(op, name string, in, out []string, attrs ...*onnxpb.AttributeProto) *onnxpb.NodeProto {
		nd := testmodel.NamedNode(name, op, in, out)
		nd.Attribute = attrs
		return nd
	}
	g := &onnxpb.GraphProto{
		Name:  proto.String("empties"),
		Input: []*onnxpb.ValueInfoProto{testmodel.ValueInfo("x", onnxpb.TensorProto_FLOAT, []int64{1, 3, 4, 4})},
		Initializer: []*onnxpb.TensorProto{
			int64Init("four", []int64{1}, 4), int64Init("flat", []int64{2}, 1, -1),
			floatInit("roi", []int64{0}), floatInit("scales", []int64{4}, 1, 1, 2, 2),
			int64Init("no_axes", []int64{0}),
			int64Init("s10", []int64{1}, 10), int64Init("e20", []int64{1}, 20), int64Init("ax2", []int64{1}, 2),
		},
		Node: []*onnxpb.NodeProto{
			n("Shape", "shape", []string{"x"}, []string{"s"}),
			n("Slice", "tail", []string{"s", "four", "four"}, []string{"none"}),
			n("Concat", "target", []string{"none", "flat"}, []string{"tgt"}, lower.IntAttr("axis", 0)),
			n("Reshape", "reshape", []string{"x", "tgt"}, []string{"flat_x"}),
			n("Resize", "up_init", []string{"x", "roi", "scales"}, []string{"up1"}, lower.StringAttr("mode", "nearest")),
			n("Constant", "roi_const", nil, []string{"roi2"}, lower.TensorAttr("value", floatInit("", []int64{0}))),
			n("Resize", "up_const", []string{"x", "roi2", "scales"}, []string{"up2"}, lower.StringAttr("mode", "linear")),
			n("ReduceSum", "sum_all", []string{"x", "no_axes"}, []string{"total"}),
			n("Slice", "nothing", []string{"x", "s10", "e20", "ax2"}, []string{"hole"}),
			n("Relu", "relu_hole", []string{"hole"}, []string{"hole_relu"}),
			n("Concat", "fill", []string{"hole_relu", "x"}, []string{"joined"}, lower.IntAttr("axis", 2)),
			// Empty shape-like operands: Expand to [] broadcasts to the
			// input's own shape, Reshape to [] makes a scalar, and
			// ReduceSum with noop_with_empty_axes passes the input on.
			n("Expand", "expand_none", []string{"x", "no_axes"}, []string{"same"}),
			n("ReduceSum", "one", []string{"x", "no_axes"}, []string{"sum_kept"}, lower.IntAttr("keepdims", 0)),
			n("Reshape", "scalar", []string{"sum_kept", "no_axes"}, []string{"sum_scalar"}),
			n("ReduceSum", "noop", []string{"x", "no_axes"}, []string{"untouched"}, lower.IntAttr("noop_with_empty_axes", 1)),
		},
	}
	for _, o := range []string{"flat_x", "up1", "up2", "total", "hole_relu", "joined", "same", "sum_scalar", "untouched"} {
		g.Output = append(g.Output, &onnxpb.ValueInfoProto{Name: proto.String(o), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
			TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT))}}}})
	}
	return &onnxpb.ModelProto{IrVersion: proto.Int64(8), Graph: g,
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}}}
}

// TestZeroElementTensorsRunLikeOnnxRuntime runs the empty forms unfolded
// through the interpreter and checks every output, empty ones included,
// against ONNX Runtime.
func TestZeroElementTensorsRunLikeOnnxRuntime(t *testing.T) {
	m := emptyTensorsModel()
	gm, err := lower.Lower(m, "")
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 48)
	for i := range x {
		x[i] = float32(i%7) - 2.5
	}
	in := map[string]*tensor.Dense{"x": f32(t, []int{1, 3, 4, 4}, x...)}
	got, err := newInterp(t, gm, 1).Run(context.Background(), in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !kernels.IsEmpty(got["hole_relu"]) || !slices.Equal(kernels.Dims(got["hole_relu"]), []int{1, 3, 0, 4}) {
		t.Errorf("hole_relu = %v, want an empty [1 3 0 4]", kernels.Dims(got["hole_relu"]))
	}
	if !testenv.ORT(t) {
		return
	}
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	want, err := ortoracle.RunBytes(b, in)
	if err != nil {
		t.Fatal(err)
	}
	for name, w := range want {
		g := got[name]
		if g == nil {
			t.Fatalf("no output %q", name)
		}
		if !slices.Equal(kernels.Dims(g), kernels.Dims(w)) || kernels.IsEmpty(g) != kernels.IsEmpty(w) {
			t.Errorf("%s: shape %v (empty %v), ONNX Runtime %v (empty %v)", name, kernels.Dims(g), kernels.IsEmpty(g), kernels.Dims(w), kernels.IsEmpty(w))
			continue
		}
		if kernels.IsEmpty(w) {
			continue
		}
		if e := relL2(t, g, w); e > 1e-6 {
			t.Errorf("%s: relative L2 error %g against ONNX Runtime", name, e)
		}
	}
}

// TestLoopOfZeroIterationsGivesEmptyScanOutputs: a Loop whose trip count is
// 0 passes its carried value through and gives [0, ...] scan outputs, with
// the other dims the body declares, as ONNX Runtime does.
func TestLoopOfZeroIterationsGivesEmptyScanOutputs(t *testing.T) {
	boolT := &onnxpb.TensorProto{Name: proto.String("keep"), DataType: proto.Int32(int32(onnxpb.TensorProto_BOOL)), Int32Data: []int32{1}}
	body := &onnxpb.GraphProto{Name: proto.String("body"),
		Input: []*onnxpb.ValueInfoProto{
			testmodel.ValueInfo("i", onnxpb.TensorProto_INT64, []int64{}),
			testmodel.ValueInfo("c", onnxpb.TensorProto_BOOL, []int64{}),
			testmodel.ValueInfo("acc", onnxpb.TensorProto_FLOAT, []int64{2}),
		},
		Initializer: []*onnxpb.TensorProto{floatInit("one", []int64{2}, 1, 1)},
		Node: []*onnxpb.NodeProto{
			testmodel.NamedNode("cond", "Identity", []string{"c"}, []string{"c_out"}),
			testmodel.NamedNode("step", "Add", []string{"acc", "one"}, []string{"acc_out"}),
			testmodel.NamedNode("record", "Identity", []string{"acc_out"}, []string{"seen"}),
		},
		Output: []*onnxpb.ValueInfoProto{
			testmodel.ValueInfo("c_out", onnxpb.TensorProto_BOOL, []int64{}),
			testmodel.ValueInfo("acc_out", onnxpb.TensorProto_FLOAT, []int64{2}),
			testmodel.ValueInfo("seen", onnxpb.TensorProto_FLOAT, []int64{2}),
		}}
	loop := testmodel.NamedNode("loop", "Loop", []string{"trips", "keep", "x"}, []string{"final", "history"})
	loop.Attribute = []*onnxpb.AttributeProto{{Name: proto.String("body"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: body}}
	g := &onnxpb.GraphProto{Name: proto.String("zero_loop"),
		Input:       []*onnxpb.ValueInfoProto{testmodel.ValueInfo("x", onnxpb.TensorProto_FLOAT, []int64{2})},
		Initializer: []*onnxpb.TensorProto{int64Init("trips", nil, 0), boolT},
		Node:        []*onnxpb.NodeProto{loop},
		Output: []*onnxpb.ValueInfoProto{testmodel.ValueInfo("final", onnxpb.TensorProto_FLOAT, []int64{2}),
			testmodel.ValueInfo("history", onnxpb.TensorProto_FLOAT, []int64{-1, 2})}}
	m := &onnxpb.ModelProto{IrVersion: proto.Int64(8), Graph: g,
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(16)}}}
	gm, err := lower.Lower(m, "")
	if err != nil {
		t.Fatal(err)
	}
	in := map[string]*tensor.Dense{"x": f32(t, []int{2}, 3, 4)}
	got, err := newInterp(t, gm, 1).Run(context.Background(), in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h := got["history"]; !kernels.IsEmpty(h) || !slices.Equal(kernels.Dims(h), []int{0, 2}) {
		t.Errorf("history = %v, want an empty [0 2]", kernels.Dims(h))
	}
	if f := kernels.Flat(got["final"]).([]float32); !slices.Equal(f, []float32{3, 4}) {
		t.Errorf("final = %v, want the input [3 4]", f)
	}
	if !testenv.ORT(t) {
		return
	}
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	want, err := ortoracle.RunBytes(b, in)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(kernels.Dims(want["history"]), []int{0, 2}) {
		t.Errorf("ONNX Runtime's history has shape %v", kernels.Dims(want["history"]))
	}
}
