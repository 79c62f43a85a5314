package lower_test

import (
	"fmt"
	"math"
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

// downCase is one downgrade golden test: a one- or few-node model at opset
// from, the op types expected after converting to opset to, and inputs to
// compare the two models on in ONNX Runtime.
type downCase struct {
	name     string
	from, to int64
	inputs   []*onnxpb.ValueInfoProto
	outputs  []*onnxpb.ValueInfoProto
	inits    []*onnxpb.TensorProto
	nodes    []*onnxpb.NodeProto
	want     string // op types after conversion
	check    func(t *testing.T, g *onnxpb.GraphProto)
}

// wave fills a float32 tensor with a deterministic spread of values of both
// signs, large enough to leave HardSwish's and HardSigmoid's linear range.
func wave(shape ...int) *tensor.Dense {
	n := 1
	for _, d := range shape {
		n *= d
	}
	data := make([]float32, n)
	for i := range data {
		data[i] = float32(4 * math.Sin(0.7*float64(i)+0.3))
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
}

// irOf is the IR version ONNX Runtime expects with an opset.
func irOf(opset int64) int64 {
	switch {
	case opset >= 23:
		return 11
	case opset >= 21:
		return 10
	case opset >= 19:
		return 9
	case opset >= 15:
		return 8
	case opset >= 12:
		return 7
	}
	return 4
}

func (c downCase) model() *onnxpb.ModelProto {
	return &onnxpb.ModelProto{
		IrVersion:   proto.Int64(irOf(c.from)),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(c.from)}},
		Graph:       &onnxpb.GraphProto{Name: proto.String("g"), Input: c.inputs, Output: c.outputs, Initializer: c.inits, Node: c.nodes},
	}
}

// feeds builds wave inputs for every float input of the case.
func (c downCase) feeds(t *testing.T) map[string]*tensor.Dense {
	in := map[string]*tensor.Dense{}
	for _, vi := range c.inputs {
		var shape []int
		for _, d := range vi.GetType().GetTensorType().GetShape().GetDim() {
			shape = append(shape, int(d.GetDimValue()))
		}
		if vi.GetType().GetTensorType().GetElemType() != int32(onnxpb.TensorProto_FLOAT) {
			t.Fatalf("input %s is not float", vi.GetName())
		}
		in[vi.GetName()] = wave(shape...)
	}
	return in
}

func sameResults(t *testing.T, want, got map[string]*tensor.Dense) {
	t.Helper()
	for name, w := range want {
		g := got[name]
		if g == nil {
			t.Errorf("output %q missing", name)
			continue
		}
		if !slices.Equal(w.Shape(), g.Shape()) {
			t.Errorf("output %q: shape %v, want %v", name, g.Shape(), w.Shape())
			continue
		}
		if _, ok := w.Data().([]float32); ok {
			d, err := maxRelDiff(g, w)
			if err != nil {
				t.Errorf("output %q: %v", name, err)
			} else if t.Logf("output %q: max relative difference %.3g", name, d); d > 1e-5 {
				t.Errorf("output %q: relative difference %.3g", name, d)
			}
			continue
		}
		if fmt.Sprint(w.Data()) != fmt.Sprint(g.Data()) {
			t.Errorf("output %q: %v, want %v", name, g.Data(), w.Data())
		}
	}
}

func attrOf(n *onnxpb.NodeProto, name string) *onnxpb.AttributeProto {
	for _, a := range n.Attribute {
		if a.GetName() == name {
			return a
		}
	}
	return nil
}

func f32(name string, dims ...int64) *onnxpb.ValueInfoProto {
	return testmodel.ValueInfo(name, onnxpb.TensorProto_FLOAT, append([]int64{}, dims...))
}

// Each down adapter on a small graph: the converted model has the expected
// ops, imports the target opset and computes what the original computes, in
// the interpreter and in ONNX Runtime when the test has it.
func TestDowngradeAdaptersKeepOnnxRuntimeOutputs(t *testing.T) {
	gamma := testmodel.Float32s("gamma", []int64{6}, 1, 0.5, -1, 2, 1.5, 0.25)
	beta := testmodel.Float32s("beta", []int64{6}, 0, 0.1, 0.2, -0.3, 0.4, -0.5)
	cases := []downCase{{
		name: "HardSwish", from: 17, to: 13,
		inputs: []*onnxpb.ValueInfoProto{f32("x", 2, 8)}, outputs: []*onnxpb.ValueInfoProto{f32("y", 2, 8)},
		nodes: []*onnxpb.NodeProto{testmodel.Node("HardSwish", []string{"x"}, []string{"y"})},
		want:  "HardSigmoid,Mul",
	}, {
		name: "LayerNormalization", from: 17, to: 13,
		inputs: []*onnxpb.ValueInfoProto{f32("x", 2, 3, 6)}, outputs: []*onnxpb.ValueInfoProto{f32("y", 2, 3, 6)},
		inits: []*onnxpb.TensorProto{gamma, beta},
		nodes: []*onnxpb.NodeProto{testmodel.Node("LayerNormalization", []string{"x", "gamma", "beta"}, []string{"y"},
			lower.IntAttr("axis", -1), lower.FloatAttr("epsilon", 1e-3))},
		want: "ReduceMean,Sub,Mul,ReduceMean,Add,Pow,Mul,Mul,Add",
		check: func(t *testing.T, g *onnxpb.GraphProto) {
			if a := attrOf(g.Node[0], "axes"); a == nil || !slices.Equal(a.Ints, []int64{-1}) || len(g.Node[0].Input) != 1 {
				t.Errorf("ReduceMean at 13 should take axes [-1] as an attribute: %v", g.Node[0])
			}
		},
	}, {
		name: "LayerNormalizationTwoAxesToOpset18", from: 17, to: 18,
		inputs: []*onnxpb.ValueInfoProto{f32("x", 2, 3, 6)}, outputs: []*onnxpb.ValueInfoProto{f32("y", 2, 3, 6)},
		nodes: []*onnxpb.NodeProto{testmodel.Node("LayerNormalization", []string{"x", "w"}, []string{"y"}, lower.IntAttr("axis", 1))},
		inits: []*onnxpb.TensorProto{testmodel.Float32s("w", []int64{3, 6}, 1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6, -1, -2, -3, -4, -5, -6)},
		want:  "LayerNormalization", // an upgrade keeps it
	}, {
		name: "GeluErf", from: 20, to: 17,
		inputs: []*onnxpb.ValueInfoProto{f32("x", 3, 5)}, outputs: []*onnxpb.ValueInfoProto{f32("y", 3, 5)},
		nodes: []*onnxpb.NodeProto{testmodel.Node("Gelu", []string{"x"}, []string{"y"})},
		want:  "Mul,Erf,Add,Mul,Mul",
	}, {
		name: "GeluTanh", from: 20, to: 13,
		inputs: []*onnxpb.ValueInfoProto{f32("x", 3, 5)}, outputs: []*onnxpb.ValueInfoProto{f32("y", 3, 5)},
		nodes: []*onnxpb.NodeProto{testmodel.Node("Gelu", []string{"x"}, []string{"y"}, lower.StringAttr("approximate", "tanh"))},
		want:  "Mul,Mul,Mul,Add,Mul,Tanh,Add,Mul,Mul",
	}, {
		name: "Mish", from: 18, to: 13,
		inputs: []*onnxpb.ValueInfoProto{f32("x", 2, 6)}, outputs: []*onnxpb.ValueInfoProto{f32("y", 2, 6)},
		nodes: []*onnxpb.NodeProto{testmodel.Node("Mish", []string{"x"}, []string{"y"})},
		want:  "Softplus,Tanh,Mul",
	}, {
		name: "GroupNormalization", from: 18, to: 13,
		inputs: []*onnxpb.ValueInfoProto{f32("x", 2, 4, 3)}, outputs: []*onnxpb.ValueInfoProto{f32("y", 2, 4, 3)},
		inits: []*onnxpb.TensorProto{testmodel.Float32s("s", []int64{2}, 1.5, -0.5), testmodel.Float32s("b", []int64{2}, 0.25, 2)},
		nodes: []*onnxpb.NodeProto{testmodel.Node("GroupNormalization", []string{"x", "s", "b"}, []string{"y"}, lower.IntAttr("num_groups", 2))},
		want:  "Reshape,ReduceMean,Sub,Mul,ReduceMean,Add,Pow,Mul,Shape,Reshape,Mul,Add",
	}, {
		name: "ShapeStartEnd", from: 16, to: 13,
		inputs:  []*onnxpb.ValueInfoProto{f32("x", 2, 3, 4, 5)},
		outputs: []*onnxpb.ValueInfoProto{testmodel.ValueInfo("s", onnxpb.TensorProto_INT64, []int64{2}), testmodel.ValueInfo("t", onnxpb.TensorProto_INT64, []int64{3})},
		nodes: []*onnxpb.NodeProto{
			testmodel.Node("Shape", []string{"x"}, []string{"s"}, lower.IntAttr("start", 1), lower.IntAttr("end", -1)),
			testmodel.Node("Shape", []string{"x"}, []string{"t"}, lower.IntAttr("start", -3)),
		},
		want: "Shape,Slice,Shape,Slice",
		check: func(t *testing.T, g *onnxpb.GraphProto) {
			if g.Node[1].Output[0] != "s" || g.Node[3].Output[0] != "t" {
				t.Errorf("the Slices should produce s and t: %v %v", g.Node[1].Output, g.Node[3].Output)
			}
		},
	}, {
		name: "ShapeToOpset9", from: 15, to: 9,
		inputs:  []*onnxpb.ValueInfoProto{f32("x", 2, 3, 4)},
		outputs: []*onnxpb.ValueInfoProto{testmodel.ValueInfo("s", onnxpb.TensorProto_INT64, []int64{2})},
		nodes:   []*onnxpb.NodeProto{testmodel.Node("Shape", []string{"x"}, []string{"s"}, lower.IntAttr("start", 1))},
		want:    "Shape,Slice",
	}, {
		name: "ReshapeAllowZeroWithoutZeros", from: 14, to: 13,
		inputs: []*onnxpb.ValueInfoProto{f32("x", 2, 6)}, outputs: []*onnxpb.ValueInfoProto{f32("y", 3, 4)},
		inits: []*onnxpb.TensorProto{testmodel.Int64s("shape", []int64{2}, 3, -1)},
		nodes: []*onnxpb.NodeProto{testmodel.Node("Reshape", []string{"x", "shape"}, []string{"y"}, lower.IntAttr("allowzero", 1))},
		want:  "Reshape",
		check: func(t *testing.T, g *onnxpb.GraphProto) {
			if len(g.Node[0].Attribute) != 0 {
				t.Errorf("allowzero kept: %v", g.Node[0].Attribute)
			}
		},
	}, {
		name: "ReduceMeanAxesInput", from: 18, to: 13,
		inputs: []*onnxpb.ValueInfoProto{f32("x", 2, 3, 4)}, outputs: []*onnxpb.ValueInfoProto{f32("y", 2, 1, 1)},
		inits: []*onnxpb.TensorProto{testmodel.Int64s("ax", []int64{2}, 1, -1)},
		nodes: []*onnxpb.NodeProto{testmodel.Node("ReduceMean", []string{"x", "ax"}, []string{"y"})},
		want:  "ReduceMean",
		check: func(t *testing.T, g *onnxpb.GraphProto) {
			if a := attrOf(g.Node[0], "axes"); a == nil || !slices.Equal(a.Ints, []int64{1, -1}) || len(g.Node[0].Input) != 1 {
				t.Errorf("node %v", g.Node[0])
			}
		},
	}, {
		name: "SplitUnevenAndSqueezeToOpset11", from: 18, to: 11,
		inputs:  []*onnxpb.ValueInfoProto{f32("x", 1, 5, 2)},
		outputs: []*onnxpb.ValueInfoProto{f32("a", 3, 2), f32("b", 2, 2)},
		inits:   []*onnxpb.TensorProto{testmodel.Int64s("ax0", []int64{1}, 0)},
		nodes: []*onnxpb.NodeProto{
			testmodel.Node("Squeeze", []string{"x", "ax0"}, []string{"sq"}),
			testmodel.Node("Split", []string{"sq"}, []string{"a", "b"}, lower.IntAttr("axis", 0), lower.IntAttr("num_outputs", 2)),
		},
		want: "Squeeze,Split",
		check: func(t *testing.T, g *onnxpb.GraphProto) {
			if a := attrOf(g.Node[1], "split"); a == nil || !slices.Equal(a.Ints, []int64{3, 2}) {
				t.Errorf("split %v, want sizes [3 2]", g.Node[1])
			}
		},
	}, {
		name: "ClipSliceAndPadToOpset10", from: 13, to: 10,
		inputs: []*onnxpb.ValueInfoProto{f32("x", 2, 6)}, outputs: []*onnxpb.ValueInfoProto{f32("y", 4, 4)},
		inits: []*onnxpb.TensorProto{testmodel.Float32s("lo", nil, -1), testmodel.Float32s("hi", nil, 2.5),
			testmodel.Int64s("st", []int64{1}, 1), testmodel.Int64s("en", []int64{1}, -1), testmodel.Int64s("axs", []int64{1}, -1),
			testmodel.Int64s("pads", []int64{4}, 1, 0, 1, 0), testmodel.Float32s("pv", nil, 7)},
		nodes: []*onnxpb.NodeProto{
			testmodel.Node("Clip", []string{"x", "lo", "hi"}, []string{"c"}),
			testmodel.Node("Slice", []string{"c", "st", "en", "axs"}, []string{"s"}),
			testmodel.Node("Pad", []string{"s", "pads", "pv"}, []string{"y"}),
		},
		want: "Clip,Slice,Pad",
		check: func(t *testing.T, g *onnxpb.GraphProto) {
			// Clip and Pad take attributes before 11; Slice-10 keeps its
			// inputs but has no negative axes.
			if len(g.Node[0].Input) != 1 || len(g.Node[2].Input) != 1 {
				t.Errorf("Clip inputs %v, Pad inputs %v", g.Node[0].Input, g.Node[2].Input)
			}
			if ax := initValues(t, g, g.Node[1].Input[3]); !slices.Equal(ax.([]int64), []int64{1}) {
				t.Errorf("slice axes %v, want [1]", ax)
			}
		},
	}, {
		name: "SoftmaxLastAxisAndDropout", from: 13, to: 11,
		inputs: []*onnxpb.ValueInfoProto{f32("x", 2, 3, 4)}, outputs: []*onnxpb.ValueInfoProto{f32("y", 2, 3, 4)},
		nodes: []*onnxpb.NodeProto{
			testmodel.Node("Dropout", []string{"x"}, []string{"d"}),
			testmodel.Node("Softmax", []string{"d"}, []string{"y"}),
		},
		want: "Identity,Softmax",
		check: func(t *testing.T, g *onnxpb.GraphProto) {
			if a := attrOf(g.Node[1], "axis"); a == nil || a.GetI() != -1 {
				t.Errorf("softmax should say axis=-1 (the old default is 1): %v", g.Node[1])
			}
		},
	}, {
		name: "CastLikeAndTypeOnlySteps", from: 16, to: 13,
		inputs: []*onnxpb.ValueInfoProto{f32("x", 2, 3)}, outputs: []*onnxpb.ValueInfoProto{testmodel.ValueInfo("y", onnxpb.TensorProto_INT64, []int64{2, 3})},
		inits: []*onnxpb.TensorProto{testmodel.Int64s("like", nil, 0)},
		nodes: []*onnxpb.NodeProto{
			testmodel.Node("Relu", []string{"x"}, []string{"r"}),
			testmodel.Node("Identity", []string{"r"}, []string{"i"}),
			testmodel.Node("Add", []string{"i", "i"}, []string{"a"}),
			testmodel.Node("CastLike", []string{"a", "like"}, []string{"y"}),
		},
		want: "Relu,Identity,Add,Cast",
	}, {
		name: "RMSNormalization", from: 23, to: 21,
		inputs: []*onnxpb.ValueInfoProto{f32("x", 2, 3, 6)}, outputs: []*onnxpb.ValueInfoProto{f32("y", 2, 3, 6)},
		inits: []*onnxpb.TensorProto{gamma},
		nodes: []*onnxpb.NodeProto{testmodel.Node("RMSNormalization", []string{"x", "gamma"}, []string{"y"}, lower.FloatAttr("epsilon", 1e-3))},
		want:  "Mul,ReduceMean,Add,Pow,Mul,Mul",
	}, {
		name: "RotaryEmbeddingAndTypeOnlySteps23To17", from: 23, to: 17,
		inputs:  []*onnxpb.ValueInfoProto{f32("x", 1, 2, 3, 4), f32("cos", 1, 3, 2), f32("sin", 1, 3, 2)},
		outputs: []*onnxpb.ValueInfoProto{f32("y", 1, 2, 3, 4)},
		nodes: []*onnxpb.NodeProto{
			testmodel.Node("Identity", []string{"x"}, []string{"i"}),
			testmodel.Node("RotaryEmbedding", []string{"i", "cos", "sin"}, []string{"y"}),
		},
		want: "Identity,Unsqueeze,Unsqueeze,Split,Mul,Mul,Sub,Mul,Mul,Add,Concat",
	}, {
		name: "Attention", from: 23, to: 17,
		inputs:  []*onnxpb.ValueInfoProto{f32("q", 1, 2, 3, 4), f32("k", 1, 2, 5, 4), f32("v", 1, 2, 5, 4)},
		outputs: []*onnxpb.ValueInfoProto{f32("y", 1, 2, 3, 4)},
		nodes:   []*onnxpb.NodeProto{testmodel.Node("Attention", []string{"q", "k", "v"}, []string{"y"})},
		want:    "Transpose,MatMul,Mul,Softmax,MatMul",
	}, {
		name: "TypeOnlyStepsUpTo23", from: 13, to: 23,
		inputs: []*onnxpb.ValueInfoProto{f32("x", 1, 2, 4, 4)}, outputs: []*onnxpb.ValueInfoProto{f32("y", 1, 32)},
		inits: []*onnxpb.TensorProto{testmodel.Float32s("w", []int64{2, 2, 1, 1}, 1, 0.5, -0.25, 2), testmodel.Int64s("flat", []int64{2}, 1, -1)},
		nodes: []*onnxpb.NodeProto{
			testmodel.Node("Conv", []string{"x", "w"}, []string{"c"}),
			testmodel.Node("HardSigmoid", []string{"c"}, []string{"h"}),
			testmodel.Node("Reshape", []string{"h", "flat"}, []string{"y"}),
		},
		want: "Conv,HardSigmoid,Reshape",
	}, {
		name: "BatchNormalizationTrainingModeOff", from: 15, to: 13,
		inputs: []*onnxpb.ValueInfoProto{f32("x", 1, 2, 3)}, outputs: []*onnxpb.ValueInfoProto{f32("y", 1, 2, 3)},
		inits: []*onnxpb.TensorProto{testmodel.Float32s("s", []int64{2}, 2, 0.5), testmodel.Float32s("b", []int64{2}, 0.1, -0.1),
			testmodel.Float32s("m", []int64{2}, 0.3, -0.2), testmodel.Float32s("v", []int64{2}, 1.5, 0.7)},
		nodes: []*onnxpb.NodeProto{testmodel.Node("BatchNormalization", []string{"x", "s", "b", "m", "v"}, []string{"y"}, lower.IntAttr("training_mode", 0))},
		want:  "BatchNormalization",
		check: func(t *testing.T, g *onnxpb.GraphProto) {
			if len(g.Node[0].Attribute) != 0 {
				t.Errorf("attributes %v", g.Node[0].Attribute)
			}
		},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			orig := c.model()
			in := c.feeds(t)
			refs := testoracle.Originals(t, orig, in)
			gm, err := lower.Lower(orig, "")
			if err != nil {
				t.Fatal(err)
			}
			if err := lower.ConvertOpset(gm, c.to); err != nil {
				t.Fatal(err)
			}
			m, err := lower.Raise(gm)
			if err != nil {
				t.Fatal(err)
			}
			if got := opTypes(m.Graph); got != c.want {
				t.Errorf("ops %s, want %s", got, c.want)
			}
			if got := opsetOf(m, ""); got != c.to {
				t.Errorf("opset %d, want %d", got, c.to)
			}
			if c.check != nil {
				c.check(t, m.Graph)
			}
			for _, r := range refs {
				t.Run(r.Oracle.Name, func(t *testing.T) { sameResults(t, r.Want, r.Got(t, m, in)) })
			}
		})
	}
}

// Downgrades with no older equivalent are refused with an error naming the
// node and the reason.
func TestDowngradeRefusalsNameNodeAndReason(t *testing.T) {
	cases := []struct {
		name     string
		from, to int64
		inputs   []*onnxpb.ValueInfoProto
		inits    []*onnxpb.TensorProto
		node     *onnxpb.NodeProto
		want     []string
	}{
		{"ReluOfInt32", 14, 13, []*onnxpb.ValueInfoProto{testmodel.ValueInfo("x", onnxpb.TensorProto_INT32, []int64{4})}, nil,
			testmodel.Node("Relu", []string{"x"}, []string{"y"}), []string{"Relu_y", "INT32"}},
		{"AddOfInt8", 14, 13, []*onnxpb.ValueInfoProto{testmodel.ValueInfo("x", onnxpb.TensorProto_INT8, []int64{4})}, nil,
			testmodel.Node("Add", []string{"x", "x"}, []string{"y"}), []string{"Add_y", "INT8"}},
		{"ReshapeAllowZeroWithZero", 14, 13, []*onnxpb.ValueInfoProto{f32("x", 0, 3)}, []*onnxpb.TensorProto{testmodel.Int64s("sh", []int64{2}, 0, 3)},
			testmodel.Node("Reshape", []string{"x", "sh"}, []string{"y"}, lower.IntAttr("allowzero", 1)), []string{"Reshape_y", "allowzero"}},
		{"LSTMBatchMajor", 14, 13, []*onnxpb.ValueInfoProto{f32("x", 1, 2, 3)},
			[]*onnxpb.TensorProto{testmodel.Float32s("w", []int64{1, 8, 3}, make([]float32, 24)...), testmodel.Float32s("r", []int64{1, 8, 2}, make([]float32, 16)...)},
			testmodel.Node("LSTM", []string{"x", "w", "r"}, []string{"y"}, lower.IntAttr("hidden_size", 2), lower.IntAttr("layout", 1)),
			[]string{"LSTM_y", "layout=1"}},
		{"SoftmaxInnerAxis", 13, 11, []*onnxpb.ValueInfoProto{f32("x", 2, 3, 4)}, nil,
			testmodel.Node("Softmax", []string{"x"}, []string{"y"}, lower.IntAttr("axis", 1)), []string{"Softmax_y", "axis 1"}},
		{"LayerNormUnknownRank", 17, 13, []*onnxpb.ValueInfoProto{testmodel.ValueInfo("x", onnxpb.TensorProto_FLOAT, nil)}, nil,
			testmodel.Node("LayerNormalization", []string{"x", "x"}, []string{"y"}, lower.IntAttr("axis", 1)), []string{"LayerNormalization_y", "unknown rank"}},
		{"TriluHasNoRewrite", 14, 13, []*onnxpb.ValueInfoProto{f32("x", 3, 3)}, nil,
			testmodel.Node("Trilu", []string{"x"}, []string{"y"}), []string{"Trilu_y", "does not exist before opset 14"}},
		{"CausalAttentionHasNoRewrite", 23, 22, []*onnxpb.ValueInfoProto{f32("x", 1, 2, 3, 4)}, nil,
			testmodel.Node("Attention", []string{"x", "x", "x"}, []string{"y"}, lower.IntAttr("is_causal", 1)), []string{"Attention_y", "is_causal"}},
		{"ConvOfBFloat16", 22, 21, []*onnxpb.ValueInfoProto{testmodel.ValueInfo("x", onnxpb.TensorProto_BFLOAT16, []int64{1, 1, 2, 2})}, nil,
			testmodel.Node("Conv", []string{"x", "x"}, []string{"y"}), []string{"Conv_y", "BFLOAT16"}},
		{"DropoutMaskRead", 13, 11, []*onnxpb.ValueInfoProto{f32("x", 3)}, nil,
			testmodel.Node("Dropout", []string{"x"}, []string{"y", "mask"}), []string{"Dropout_y", "mask"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			outs := []*onnxpb.ValueInfoProto{testmodel.ValueInfo("y", onnxpb.TensorProto_FLOAT, nil)}
			if len(c.node.Output) > 1 {
				outs = append(outs, &onnxpb.ValueInfoProto{Name: proto.String(c.node.Output[1])})
			}
			gm := buildModel(t, c.from, c.inputs, outs, c.inits, c.node)
			err := lower.ConvertOpset(gm, c.to)
			if err == nil {
				t.Fatal("downgrade accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if gm.Opset("") != c.from {
				t.Errorf("opset moved to %d on a refused conversion", gm.Opset(""))
			}
		})
	}
}
