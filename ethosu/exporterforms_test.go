package ethosu_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
	"github.com/onnxquant/onnxquant/qpass"
)

// conv3 adds a 3x3 convolution (pads 1) from in to out with cin -> cout
// channels and deterministic weights: the NPU work the forms below surround.
func conv3(b *testmodel.Builder, name, in, out string, cin, cout int64) *testmodel.Builder {
	w := testmodel.Ramp(uint64(cin*100+cout), int(cout*cin*9), -0.4, 0.4)
	bias := testmodel.Ramp(uint64(cout), int(cout), -0.1, 0.1)
	return b.Init(name+".w", []int64{cout, cin, 3, 3}, w...).Init(name+".b", []int64{cout}, bias...).
		NamedNode(name, "Conv", []string{in, name + ".w", name + ".b"}, []string{out}, lower.IntsAttr("pads", 1, 1, 1, 1))
}

func constNode(name string, t *onnxpb.TensorProto) *onnxpb.AttributeProto {
	t.Name = proto.String(name)
	return lower.TensorAttr("value", t)
}

func floatTensor(dims []int64, v ...float32) *onnxpb.TensorProto {
	return &onnxpb.TensorProto{Dims: dims, DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), FloatData: v}
}

// exporterForms are small models, one per form that current exporters write
// and that once stopped the quantizer. Each must quantize for U55 and U85 at
// int8 and a16w8, pass the legality check and match the float model in
// ONNX Runtime.
func exporterForms() map[string]*testmodel.Builder {
	forms := map[string]*testmodel.Builder{}
	// torch.onnx (opset 11-13) and Paddle2ONNX write Resize with an empty
	// roi: an initializer or a Constant node; opset 11 passes sizes with
	// empty roi and scales.
	forms["resize empty roi initializer"] = conv3(testmodel.New(13).Input("x", 1, 2, 8, 8).Output("y", 1, 4, 16, 16), "conv", "x", "c", 2, 4).Init("roi", []int64{0}).Init("scales", []int64{4}, 1, 1, 2, 2).
		NamedNode("up", "Resize", []string{"c", "roi", "scales"}, []string{"y"}, lower.StringAttr("mode", "nearest"))
	forms["resize empty roi Constant"] = conv3(testmodel.New(13).Input("x", 1, 2, 8, 8).Output("y", 1, 4, 16, 16), "conv", "x", "c", 2, 4).Init("scales", []int64{4}, 1, 1, 2, 2).
		NamedNode("roi", "Constant", nil, []string{"roi"}, constNode("roi", floatTensor([]int64{0}))).
		NamedNode("up", "Resize", []string{"c", "roi", "scales"}, []string{"y"}, lower.StringAttr("mode", "nearest"))
	forms["resize opset 11 sizes, empty roi and scales"] = conv3(testmodel.New(11).Input("x", 1, 2, 8, 8).Output("y", 1, 4, 16, 16), "conv", "x", "c", 2, 4).Init("roi", []int64{0}).Init("scales", []int64{0}).InitInt64("sizes", []int64{4}, 1, 4, 16, 16).
		NamedNode("up", "Resize", []string{"c", "roi", "scales", "sizes"}, []string{"y"}, lower.StringAttr("mode", "nearest"))
	// Shape arithmetic with an empty Slice: Concat(Slice(shape)[4:], [1,-1]).
	forms["empty Slice in a Reshape target"] = conv3(testmodel.New(13).Input("x", 1, 2, 4, 4).Output("y", 1, 64), "conv", "x", "c", 2, 4).InitInt64("four", []int64{1}, 4).InitInt64("flat", []int64{2}, 1, -1).
		NamedNode("shape", "Shape", []string{"c"}, []string{"s"}).
		NamedNode("tail", "Slice", []string{"s", "four", "four"}, []string{"none"}).
		NamedNode("target", "Concat", []string{"none", "flat"}, []string{"tgt"}, lower.IntAttr("axis", 0)).
		NamedNode("reshape", "Reshape", []string{"c", "tgt"}, []string{"y"})
	// An empty Slice of activations (start past the end) flows through an
	// elementwise op into a Concat: it observes nothing and adds nothing.
	forms["empty Slice of activations into Concat"] = conv3(testmodel.New(13).Input("x", 1, 2, 8, 8).Output("y", 1, 4, 8, 8), "conv", "x", "c", 2, 4).InitInt64("s", []int64{1}, 10).InitInt64("e", []int64{1}, 20).InitInt64("a", []int64{1}, 2).
		NamedNode("slice", "Slice", []string{"c", "s", "e", "a"}, []string{"hole"}).
		NamedNode("relu", "Relu", []string{"hole"}, []string{"hr"}).
		NamedNode("cat", "Concat", []string{"c", "hr"}, []string{"y"}, lower.IntAttr("axis", 2))
	// tf2onnx residual blocks pad channels with zeros from ConstantOfShape
	// (larger than the shape-arithmetic folding bound).
	forms["ConstantOfShape channel padding"] = conv3(testmodel.New(12).Input("x", 1, 2, 32, 32).Output("y", 1, 12, 32, 32), "conv", "x", "c", 2, 4).InitInt64("pad_shape", []int64{4}, 1, 8, 32, 32).
		NamedNode("zeros", "ConstantOfShape", []string{"pad_shape"}, []string{"z"}).
		NamedNode("cat", "Concat", []string{"c", "z"}, []string{"y"}, lower.IntAttr("axis", 1))
	// tf2onnx: NHWC input named with ":0", Transpose pairs around the convs.
	forms["tf2onnx NHWC with :0 names"] = conv3(testmodel.New(13).Input("input:0", 1, 8, 8, 2).Output("Identity:0", 1, 8, 8, 4).
		NamedNode("to_nchw", "Transpose", []string{"input:0"}, []string{"t:0"}, lower.IntsAttr("perm", 0, 3, 1, 2)), "conv", "t:0", "c:0", 2, 4).
		NamedNode("relu", "Relu", []string{"c:0"}, []string{"r:0"}).
		NamedNode("to_nhwc", "Transpose", []string{"r:0"}, []string{"Identity:0"}, lower.IntsAttr("perm", 0, 2, 3, 1))
	// Opset 18+ forms.
	forms["opset 18 ReduceMean axes input"] = conv3(testmodel.New(18).Input("x", 1, 2, 8, 8).Output("y", 1, 4, 1, 1), "conv", "x", "c", 2, 4).InitInt64("axes", []int64{2}, 2, 3).
		NamedNode("mean", "ReduceMean", []string{"c", "axes"}, []string{"y"})
	forms["opset 18 Split num_outputs"] = conv3(testmodel.New(18).Input("x", 1, 2, 8, 8).Output("y0", 1, 2, 8, 8).Output("y1", 1, 2, 8, 8), "conv", "x", "c", 2, 4).
		NamedNode("split", "Split", []string{"c"}, []string{"y0", "y1"}, lower.IntAttr("axis", 1), lower.IntAttr("num_outputs", 2))
	forms["opset 18 Pad axes"] = conv3(testmodel.New(18).Input("x", 1, 2, 8, 8).Output("y", 1, 4, 10, 12), "conv", "x", "c", 2, 4).InitInt64("pads", []int64{4}, 1, 2, 1, 2).InitInt64("axes", []int64{2}, 2, 3).
		NamedNode("pad", "Pad", []string{"c", "pads", "", "axes"}, []string{"y"})
	forms["opset 18 Resize keep_aspect_ratio_policy"] = conv3(testmodel.New(18).Input("x", 1, 2, 8, 8).Output("y", 1, 4, 16, 16), "conv", "x", "c", 2, 4).InitInt64("sizes", []int64{2}, 16, 20).InitInt64("axes", []int64{2}, 2, 3).
		NamedNode("up", "Resize", []string{"c", "", "", "sizes"}, []string{"y"}, lower.StringAttr("mode", "nearest"),
			lower.StringAttr("keep_aspect_ratio_policy", "not_larger"), lower.IntsAttr("axes", 2, 3))
	forms["opset 18 Resize antialias"] = conv3(testmodel.New(18).Input("x", 1, 2, 8, 8).Output("y", 1, 4, 16, 16), "conv", "x", "c", 2, 4).Init("scales", []int64{4}, 1, 1, 2, 2).
		NamedNode("up", "Resize", []string{"c", "", "scales"}, []string{"y"}, lower.StringAttr("mode", "linear"), lower.IntAttr("antialias", 1))
	forms["opset 18 Resize antialias downsampling"] = conv3(testmodel.New(18).Input("x", 1, 2, 16, 16).Output("y", 1, 4, 8, 8), "conv", "x", "c", 2, 4).Init("scales", []int64{4}, 1, 1, 0.5, 0.5).
		NamedNode("down", "Resize", []string{"c", "", "scales"}, []string{"y"}, lower.StringAttr("mode", "linear"), lower.IntAttr("antialias", 1))
	forms["Resize tf_crop_and_resize"] = conv3(testmodel.New(13).Input("x", 1, 2, 8, 8).Output("y", 1, 4, 6, 6), "conv", "x", "c", 2, 4).
		Init("roi", []int64{8}, 0, 0, 0.1, 0.2, 1, 1, 0.9, 0.7).Init("scales", []int64{4}, 1, 1, 0.75, 0.75).
		NamedNode("crop", "Resize", []string{"c", "roi", "scales"}, []string{"y"}, lower.StringAttr("mode", "linear"),
			lower.StringAttr("coordinate_transformation_mode", "tf_crop_and_resize"))
	forms["MaxPool with Indices"] = conv3(testmodel.New(12).Input("x", 1, 2, 8, 8).Output("y", 1, 4, 4, 4).
		TypedOutput("where", onnxpb.TensorProto_INT64, 1, 4, 4, 4), "conv", "x", "c", 2, 4).
		NamedNode("pool", "MaxPool", []string{"c"}, []string{"y", "where"}, lower.IntsAttr("kernel_shape", 2, 2), lower.IntsAttr("strides", 2, 2))
	forms["opset 18 GroupNormalization"] = conv3(testmodel.New(18).Input("x", 1, 2, 8, 8).Output("y", 1, 4, 8, 8), "conv", "x", "c", 2, 4).Init("gamma", []int64{2}, 1.2, 0.8).Init("beta", []int64{2}, 0.1, -0.1).
		NamedNode("gn", "GroupNormalization", []string{"c", "gamma", "beta"}, []string{"y"}, lower.IntAttr("num_groups", 2))
	forms["opset 20 Gelu"] = conv3(testmodel.New(20).Input("x", 1, 2, 8, 8).Output("y", 1, 4, 8, 8), "conv", "x", "c", 2, 4).
		NamedNode("gelu", "Gelu", []string{"c"}, []string{"y"})
	forms["opset 17 LayerNormalization"] = conv3(testmodel.New(17).Input("x", 1, 2, 8, 8).Output("y", 1, 4, 8, 8), "conv", "x", "c", 2, 4).Init("gamma", []int64{8}, 1, 1.1, 0.9, 1, 1.2, 0.8, 1, 1).Init("beta", []int64{8}, 0, 0, 0.1, 0, 0, -0.1, 0, 0).
		NamedNode("ln", "LayerNormalization", []string{"c", "gamma", "beta"}, []string{"y"}, lower.IntAttr("axis", -1))
	// Paddle2ONNX: every weight a Constant node, BatchNormalization left
	// unfolded after the convolution.
	bnw := testmodel.Ramp(7, 4*2*9, -0.4, 0.4)
	forms["Paddle2ONNX Constant weights, unfolded BatchNormalization"] = testmodel.New(14).Input("x", 1, 2, 8, 8).Output("y", 1, 4, 8, 8).
		NamedNode("w", "Constant", nil, []string{"w"}, constNode("w", floatTensor([]int64{4, 2, 3, 3}, bnw...))).
		NamedNode("conv", "Conv", []string{"x", "w"}, []string{"c"}, lower.IntsAttr("pads", 1, 1, 1, 1)).
		NamedNode("scale", "Constant", nil, []string{"scale"}, constNode("scale", floatTensor([]int64{4}, 1.1, 0.9, 1.2, 0.8))).
		NamedNode("bias", "Constant", nil, []string{"bias"}, constNode("bias", floatTensor([]int64{4}, 0.1, -0.1, 0, 0.2))).
		NamedNode("mean", "Constant", nil, []string{"mean"}, constNode("mean", floatTensor([]int64{4}, 0.05, -0.02, 0.1, 0))).
		NamedNode("var", "Constant", nil, []string{"var"}, constNode("var", floatTensor([]int64{4}, 0.5, 1.5, 1, 2))).
		NamedNode("bn", "BatchNormalization", []string{"c", "scale", "bias", "mean", "var"}, []string{"bnout"}).
		NamedNode("act", "HardSwish", []string{"bnout"}, []string{"y"})
	// Static shape arithmetic that must fold once the input shape is
	// bound: a Range over a Shape-derived count, an Expand to a Shape,
	// Tile repeats and Clip bounds computed from constants.
	forms["Range, Expand and Tile driven by Shape"] = conv3(testmodel.New(13).Input("x", 1, 2, 4, 4).Output("y", 1, 4, 4, 8), "conv", "x", "c", 2, 4).
		InitInt64("one_idx", []int64{}, 1).InitInt64("zero_i", []int64{}, 0).InitInt64("step", []int64{}, 1).
		InitInt64("chan_shape", []int64{4}, 1, -1, 1, 1).Init("tenth", []int64{}, 0.1).
		NamedNode("shape", "Shape", []string{"c"}, []string{"s"}).
		NamedNode("channels", "Gather", []string{"s", "one_idx"}, []string{"nc"}, lower.IntAttr("axis", 0)).
		NamedNode("range", "Range", []string{"zero_i", "nc", "step"}, []string{"idx"}).
		NamedNode("cast", "Cast", []string{"idx"}, []string{"idxf"}, lower.IntAttr("to", 1)).
		NamedNode("scaled", "Mul", []string{"idxf", "tenth"}, []string{"offs"}).
		NamedNode("percol", "Reshape", []string{"offs", "chan_shape"}, []string{"offs4"}).
		NamedNode("expand", "Expand", []string{"offs4", "s"}, []string{"offsx"}).
		NamedNode("add", "Add", []string{"c", "offsx"}, []string{"shifted"}).
		Init("reps_f", []int64{4}, 1, 1, 1, 2).
		NamedNode("reps", "Cast", []string{"reps_f"}, []string{"reps"}, lower.IntAttr("to", 7)).
		NamedNode("tile", "Tile", []string{"shifted", "reps"}, []string{"tiled"}).
		Init("lim", []int64{}, 0.75).
		NamedNode("neg", "Neg", []string{"lim"}, []string{"lo"}).
		NamedNode("twice", "Add", []string{"lim", "lim"}, []string{"hi"}).
		NamedNode("clip", "Clip", []string{"tiled", "lo", "hi"}, []string{"y"})
	// The newest opsets exporters write (22: bfloat16 types, 23: float4
	// types) load and quantize like 21.
	for _, v := range []int64{22, 23} {
		forms[fmt.Sprintf("opset %d Conv, Pad, Reshape", v)] = conv3(testmodel.New(v).Input("x", 1, 2, 8, 8).Output("y", 1, 256), "conv", "x", "c", 2, 4).InitInt64("pads", []int64{8}, 0, 0, 0, 0, 0, 0, 0, 0).
			InitInt64("flat", []int64{2}, 1, -1).
			NamedNode("pad", "Pad", []string{"c", "pads"}, []string{"p"}).
			NamedNode("reshape", "Reshape", []string{"p", "flat"}, []string{"y"})
	}
	// Opset 23's new operators: RMSNormalization and RotaryEmbedding
	// decompose into ops every Ethos-U runs. The conv output
	// (1, 4, 8, 8) is read as (batch, heads, seq, head) by the rotation.
	forms["opset 23 RMSNormalization"] = conv3(testmodel.New(23).Input("x", 1, 2, 8, 8).Output("y", 1, 4, 8, 8), "conv", "x", "c", 2, 4).
		Init("gamma", []int64{8}, 1, 1.1, 0.9, 1, 1.2, 0.8, 1, 1).
		NamedNode("rms", "RMSNormalization", []string{"c", "gamma"}, []string{"y"}, lower.FloatAttr("epsilon", 1e-5))
	var cos, sin []float32
	for p := 0; p < 8; p++ {
		for i := 0; i < 4; i++ {
			a := float64(p) * math.Pow(10000, -float64(i)/4)
			cos, sin = append(cos, float32(math.Cos(a))), append(sin, float32(math.Sin(a)))
		}
	}
	forms["opset 23 RotaryEmbedding"] = conv3(testmodel.New(23).Input("x", 1, 2, 8, 8).Output("y", 1, 4, 8, 8), "conv", "x", "c", 2, 4).
		Init("cos", []int64{8, 4}, cos...).Init("sin", []int64{8, 4}, sin...).InitInt64("pos", []int64{1, 8}, 0, 1, 2, 3, 4, 5, 6, 7).
		NamedNode("rope", "RotaryEmbedding", []string{"c", "cos", "sin", "pos"}, []string{"y"})
	forms["opset 23 RotaryEmbedding interleaved"] = conv3(testmodel.New(23).Input("x", 1, 2, 8, 8).Output("y", 1, 4, 8, 8), "conv", "x", "c", 2, 4).
		Init("cos", []int64{8, 4}, cos...).Init("sin", []int64{8, 4}, sin...).InitInt64("pos", []int64{1, 8}, 0, 1, 2, 3, 4, 5, 6, 7).
		NamedNode("rope", "RotaryEmbedding", []string{"c", "cos", "sin", "pos"}, []string{"y"}, lower.IntAttr("interleaved", 1))
	// Self-attention over the conv output read as (batch, heads, seq,
	// head); a causal one puts -inf into the scores and is refused.
	forms["opset 23 Attention"] = conv3(testmodel.New(23).Input("x", 1, 2, 8, 8).Output("y", 1, 4, 8, 8), "conv", "x", "c", 2, 4).
		NamedNode("attn", "Attention", []string{"c", "c", "c"}, []string{"y"})
	forms["opset 23 Attention causal"] = conv3(testmodel.New(23).Input("x", 1, 2, 8, 8).Output("y", 1, 4, 8, 8), "conv", "x", "c", 2, 4).
		NamedNode("attn", "Attention", []string{"c", "c", "c"}, []string{"y"}, lower.IntAttr("is_causal", 1))
	return forms
}

// u55Refuses names the forms Ethos-U55 cannot run by rule (its Resize is
// nearest only), with the error the quantizer must give there instead.
var u55Refuses = map[string]string{
	"opset 18 Resize antialias": `Resize mode "linear" is not supported on ethos-u55 (nearest only)`,
}

// refusedEverywhere names the forms no Ethos-U runs, with the error.
var refusedEverywhere = map[string]string{
	"MaxPool with Indices":                   "MaxPool's Indices output is not supported",
	"opset 23 Attention causal":              `node "attn" (Attention): operator not supported by Ethos-U (no TOSA INT lowering): opset 23 Attention is decomposed only without is_causal`,
	"Resize tf_crop_and_resize":              "tf_crop_and_resize is not supported",
	"opset 18 Resize antialias downsampling": "Resize with antialias that downsamples is not supported",
}

// TestOpsetNewerThanKnownIsAnErrorNamingIt: a model at an opset above the
// newest the tool knows is refused at load, naming the opset.
func TestOpsetNewerThanKnownIsAnErrorNamingIt(t *testing.T) {
	b := conv3(testmodel.New(24).Input("x", 1, 2, 8, 8).Output("y", 1, 4, 8, 8), "conv", "x", "y", 2, 4)
	_, err := lower.Lower(b.Model(), "")
	if err == nil || !strings.Contains(err.Error(), "opset 24 of the default ONNX domain") || !strings.Contains(err.Error(), "23") {
		t.Fatalf("err = %v, want one naming opset 24 and the newest known, 23", err)
	}
}

func TestExporterFormsQuantizeForEveryTargetAndScheme(t *testing.T) {
	for name, b := range exporterForms() {
		t.Run(name, func(t *testing.T) {
			samples := writeSamples(t, b, 4)
			for _, scheme := range []string{"int8", "a16w8"} {
				for _, target := range []string{"ethos-u55-128", "ethos-u85-256"} {
					// A normalization over 8 values at int8 loses a few LSBs
					// of its output range; 16-bit activations must be close,
					// except that U55 runs table ops (the normalization's
					// rsqrt) at int8 whatever the scheme.
					tol := 0.08
					if scheme == "a16w8" && target != "ethos-u55-128" {
						tol = 0.02
					}
					q := ethosu.NewEthosUQuantizer(ethosu.MustCompileSpec(target))
					if scheme == "a16w8" {
						q.SetGlobal(qpass.SymmetricA16W8(true, false))
					}
					res, err := quantizeGraph(t, q, b.Model(), samples)
					if want, refused := refusedEverywhere[name]; refused {
						if err == nil || !strings.Contains(err.Error(), want) {
							t.Errorf("%s %s: error %v, want one saying %s", scheme, target, err, want)
						}
						continue
					}
					if want, refused := u55Refuses[name]; refused && target == "ethos-u55-128" {
						if err == nil || !strings.Contains(err.Error(), want) {
							t.Errorf("%s %s: error %v, want one saying %s", scheme, target, err, want)
						}
						continue
					}
					if err != nil {
						t.Errorf("%s %s: %v", scheme, target, err)
						continue
					}
					gm, err := lower.Lower(res.Model, "")
					if err != nil {
						t.Fatal(err)
					}
					if err := lower.InferShapes(gm, nil); err != nil {
						t.Fatal(err)
					}
					if err := ethosu.Check(gm, ethosu.MustCompileSpec(target)).Err(); err != nil {
						t.Errorf("%s %s: check: %v", scheme, target, err)
					}
					t.Run(fmt.Sprintf("%s %s in ORT", scheme, target), func(t *testing.T) { runsInReference(t, res.Model, b, tol) })
				}
			}
		})
	}
}
