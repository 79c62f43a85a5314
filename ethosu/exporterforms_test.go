package ethosu_test

import (
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
	"github.com/onnxquant/onnxquant/qpass"
)

// conv3 adds a 3x3 convolution (pads 1) from in to out with cin -> cout
// channels and deterministic weights: the NPU work the forms below surround.
func (b *gb) conv3(name, in, out string, cin, cout int64) *gb {
	w := ramp(uint64(cin*100+cout), int(cout*cin*9), -0.4, 0.4)
	bias := ramp(uint64(cout), int(cout), -0.1, 0.1)
	return b.init(name+".w", []int64{cout, cin, 3, 3}, w...).init(name+".b", []int64{cout}, bias...).
		node(name, "Conv", []string{in, name + ".w", name + ".b"}, []string{out}, lower.IntsAttr("pads", 1, 1, 1, 1))
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
func exporterForms() map[string]*gb {
	forms := map[string]*gb{}
	// torch.onnx (opset 11-13) and Paddle2ONNX write Resize with an empty
	// roi: an initializer or a Constant node; opset 11 passes sizes with
	// empty roi and scales.
	forms["resize empty roi initializer"] = newGraph(13).input("x", 1, 2, 8, 8).output("y", 1, 4, 16, 16).
		conv3("conv", "x", "c", 2, 4).init("roi", []int64{0}).init("scales", []int64{4}, 1, 1, 2, 2).
		node("up", "Resize", []string{"c", "roi", "scales"}, []string{"y"}, lower.StringAttr("mode", "nearest"))
	forms["resize empty roi Constant"] = newGraph(13).input("x", 1, 2, 8, 8).output("y", 1, 4, 16, 16).
		conv3("conv", "x", "c", 2, 4).init("scales", []int64{4}, 1, 1, 2, 2).
		node("roi", "Constant", nil, []string{"roi"}, constNode("roi", floatTensor([]int64{0}))).
		node("up", "Resize", []string{"c", "roi", "scales"}, []string{"y"}, lower.StringAttr("mode", "nearest"))
	forms["resize opset 11 sizes, empty roi and scales"] = newGraph(11).input("x", 1, 2, 8, 8).output("y", 1, 4, 16, 16).
		conv3("conv", "x", "c", 2, 4).init("roi", []int64{0}).init("scales", []int64{0}).initInt64("sizes", []int64{4}, 1, 4, 16, 16).
		node("up", "Resize", []string{"c", "roi", "scales", "sizes"}, []string{"y"}, lower.StringAttr("mode", "nearest"))
	// Shape arithmetic with an empty Slice: Concat(Slice(shape)[4:], [1,-1]).
	forms["empty Slice in a Reshape target"] = newGraph(13).input("x", 1, 2, 4, 4).output("y", 1, 64).
		conv3("conv", "x", "c", 2, 4).initInt64("four", []int64{1}, 4).initInt64("flat", []int64{2}, 1, -1).
		node("shape", "Shape", []string{"c"}, []string{"s"}).
		node("tail", "Slice", []string{"s", "four", "four"}, []string{"none"}).
		node("target", "Concat", []string{"none", "flat"}, []string{"tgt"}, lower.IntAttr("axis", 0)).
		node("reshape", "Reshape", []string{"c", "tgt"}, []string{"y"})
	// An empty Slice of activations (start past the end) flows through an
	// elementwise op into a Concat: it observes nothing and adds nothing.
	forms["empty Slice of activations into Concat"] = newGraph(13).input("x", 1, 2, 8, 8).output("y", 1, 4, 8, 8).
		conv3("conv", "x", "c", 2, 4).initInt64("s", []int64{1}, 10).initInt64("e", []int64{1}, 20).initInt64("a", []int64{1}, 2).
		node("slice", "Slice", []string{"c", "s", "e", "a"}, []string{"hole"}).
		node("relu", "Relu", []string{"hole"}, []string{"hr"}).
		node("cat", "Concat", []string{"c", "hr"}, []string{"y"}, lower.IntAttr("axis", 2))
	// tf2onnx residual blocks pad channels with zeros from ConstantOfShape
	// (larger than the shape-arithmetic folding bound).
	forms["ConstantOfShape channel padding"] = newGraph(12).input("x", 1, 2, 32, 32).output("y", 1, 12, 32, 32).
		conv3("conv", "x", "c", 2, 4).initInt64("pad_shape", []int64{4}, 1, 8, 32, 32).
		node("zeros", "ConstantOfShape", []string{"pad_shape"}, []string{"z"}).
		node("cat", "Concat", []string{"c", "z"}, []string{"y"}, lower.IntAttr("axis", 1))
	// tf2onnx: NHWC input named with ":0", Transpose pairs around the convs.
	forms["tf2onnx NHWC with :0 names"] = newGraph(13).input("input:0", 1, 8, 8, 2).output("Identity:0", 1, 8, 8, 4).
		node("to_nchw", "Transpose", []string{"input:0"}, []string{"t:0"}, lower.IntsAttr("perm", 0, 3, 1, 2)).
		conv3("conv", "t:0", "c:0", 2, 4).
		node("relu", "Relu", []string{"c:0"}, []string{"r:0"}).
		node("to_nhwc", "Transpose", []string{"r:0"}, []string{"Identity:0"}, lower.IntsAttr("perm", 0, 2, 3, 1))
	// Opset 18+ forms.
	forms["opset 18 ReduceMean axes input"] = newGraph(18).input("x", 1, 2, 8, 8).output("y", 1, 4, 1, 1).
		conv3("conv", "x", "c", 2, 4).initInt64("axes", []int64{2}, 2, 3).
		node("mean", "ReduceMean", []string{"c", "axes"}, []string{"y"})
	forms["opset 18 Split num_outputs"] = newGraph(18).input("x", 1, 2, 8, 8).output("y0", 1, 2, 8, 8).output("y1", 1, 2, 8, 8).
		conv3("conv", "x", "c", 2, 4).
		node("split", "Split", []string{"c"}, []string{"y0", "y1"}, lower.IntAttr("axis", 1), lower.IntAttr("num_outputs", 2))
	forms["opset 18 Pad axes"] = newGraph(18).input("x", 1, 2, 8, 8).output("y", 1, 4, 10, 12).
		conv3("conv", "x", "c", 2, 4).initInt64("pads", []int64{4}, 1, 2, 1, 2).initInt64("axes", []int64{2}, 2, 3).
		node("pad", "Pad", []string{"c", "pads", "", "axes"}, []string{"y"})
	forms["opset 18 Resize keep_aspect_ratio_policy"] = newGraph(18).input("x", 1, 2, 8, 8).output("y", 1, 4, 16, 16).
		conv3("conv", "x", "c", 2, 4).initInt64("sizes", []int64{2}, 16, 20).initInt64("axes", []int64{2}, 2, 3).
		node("up", "Resize", []string{"c", "", "", "sizes"}, []string{"y"}, lower.StringAttr("mode", "nearest"),
			lower.StringAttr("keep_aspect_ratio_policy", "not_larger"), lower.IntsAttr("axes", 2, 3))
	forms["opset 18 Resize antialias"] = newGraph(18).input("x", 1, 2, 8, 8).output("y", 1, 4, 16, 16).
		conv3("conv", "x", "c", 2, 4).init("scales", []int64{4}, 1, 1, 2, 2).
		node("up", "Resize", []string{"c", "", "scales"}, []string{"y"}, lower.StringAttr("mode", "linear"), lower.IntAttr("antialias", 1))
	forms["opset 18 Resize antialias downsampling"] = newGraph(18).input("x", 1, 2, 16, 16).output("y", 1, 4, 8, 8).
		conv3("conv", "x", "c", 2, 4).init("scales", []int64{4}, 1, 1, 0.5, 0.5).
		node("down", "Resize", []string{"c", "", "scales"}, []string{"y"}, lower.StringAttr("mode", "linear"), lower.IntAttr("antialias", 1))
	forms["opset 18 GroupNormalization"] = newGraph(18).input("x", 1, 2, 8, 8).output("y", 1, 4, 8, 8).
		conv3("conv", "x", "c", 2, 4).init("gamma", []int64{2}, 1.2, 0.8).init("beta", []int64{2}, 0.1, -0.1).
		node("gn", "GroupNormalization", []string{"c", "gamma", "beta"}, []string{"y"}, lower.IntAttr("num_groups", 2))
	forms["opset 20 Gelu"] = newGraph(20).input("x", 1, 2, 8, 8).output("y", 1, 4, 8, 8).
		conv3("conv", "x", "c", 2, 4).
		node("gelu", "Gelu", []string{"c"}, []string{"y"})
	forms["opset 17 LayerNormalization"] = newGraph(17).input("x", 1, 2, 8, 8).output("y", 1, 4, 8, 8).
		conv3("conv", "x", "c", 2, 4).init("gamma", []int64{8}, 1, 1.1, 0.9, 1, 1.2, 0.8, 1, 1).init("beta", []int64{8}, 0, 0, 0.1, 0, 0, -0.1, 0, 0).
		node("ln", "LayerNormalization", []string{"c", "gamma", "beta"}, []string{"y"}, lower.IntAttr("axis", -1))
	// Paddle2ONNX: every weight a Constant node, BatchNormalization left
	// unfolded after the convolution.
	bnw := ramp(7, 4*2*9, -0.4, 0.4)
	forms["Paddle2ONNX Constant weights, unfolded BatchNormalization"] = newGraph(14).input("x", 1, 2, 8, 8).output("y", 1, 4, 8, 8).
		node("w", "Constant", nil, []string{"w"}, constNode("w", floatTensor([]int64{4, 2, 3, 3}, bnw...))).
		node("conv", "Conv", []string{"x", "w"}, []string{"c"}, lower.IntsAttr("pads", 1, 1, 1, 1)).
		node("scale", "Constant", nil, []string{"scale"}, constNode("scale", floatTensor([]int64{4}, 1.1, 0.9, 1.2, 0.8))).
		node("bias", "Constant", nil, []string{"bias"}, constNode("bias", floatTensor([]int64{4}, 0.1, -0.1, 0, 0.2))).
		node("mean", "Constant", nil, []string{"mean"}, constNode("mean", floatTensor([]int64{4}, 0.05, -0.02, 0.1, 0))).
		node("var", "Constant", nil, []string{"var"}, constNode("var", floatTensor([]int64{4}, 0.5, 1.5, 1, 2))).
		node("bn", "BatchNormalization", []string{"c", "scale", "bias", "mean", "var"}, []string{"bnout"}).
		node("act", "HardSwish", []string{"bnout"}, []string{"y"})
	// Static shape arithmetic that must fold once the input shape is
	// bound: a Range over a Shape-derived count, an Expand to a Shape,
	// Tile repeats and Clip bounds computed from constants.
	forms["Range, Expand and Tile driven by Shape"] = newGraph(13).input("x", 1, 2, 4, 4).output("y", 1, 4, 4, 8).
		conv3("conv", "x", "c", 2, 4).
		initInt64("one_idx", []int64{}, 1).initInt64("zero_i", []int64{}, 0).initInt64("step", []int64{}, 1).
		initInt64("chan_shape", []int64{4}, 1, -1, 1, 1).init("tenth", []int64{}, 0.1).
		node("shape", "Shape", []string{"c"}, []string{"s"}).
		node("channels", "Gather", []string{"s", "one_idx"}, []string{"nc"}, lower.IntAttr("axis", 0)).
		node("range", "Range", []string{"zero_i", "nc", "step"}, []string{"idx"}).
		node("cast", "Cast", []string{"idx"}, []string{"idxf"}, lower.IntAttr("to", 1)).
		node("scaled", "Mul", []string{"idxf", "tenth"}, []string{"offs"}).
		node("percol", "Reshape", []string{"offs", "chan_shape"}, []string{"offs4"}).
		node("expand", "Expand", []string{"offs4", "s"}, []string{"offsx"}).
		node("add", "Add", []string{"c", "offsx"}, []string{"shifted"}).
		init("reps_f", []int64{4}, 1, 1, 1, 2).
		node("reps", "Cast", []string{"reps_f"}, []string{"reps"}, lower.IntAttr("to", 7)).
		node("tile", "Tile", []string{"shifted", "reps"}, []string{"tiled"}).
		init("lim", []int64{}, 0.75).
		node("neg", "Neg", []string{"lim"}, []string{"lo"}).
		node("twice", "Add", []string{"lim", "lim"}, []string{"hi"}).
		node("clip", "Clip", []string{"tiled", "lo", "hi"}, []string{"y"})
	// The newest opsets exporters write (22: bfloat16 types, 23: float4
	// types) load and quantize like 21.
	for _, v := range []int64{22, 23} {
		forms[fmt.Sprintf("opset %d Conv, Pad, Reshape", v)] = newGraph(v).input("x", 1, 2, 8, 8).output("y", 1, 256).
			conv3("conv", "x", "c", 2, 4).initInt64("pads", []int64{8}, 0, 0, 0, 0, 0, 0, 0, 0).
			initInt64("flat", []int64{2}, 1, -1).
			node("pad", "Pad", []string{"c", "pads"}, []string{"p"}).
			node("reshape", "Reshape", []string{"p", "flat"}, []string{"y"})
	}
	return forms
}

// u55Refuses names the forms Ethos-U55 cannot run by rule (its Resize is
// nearest only), with the error the quantizer must give there instead.
var u55Refuses = map[string]string{
	"opset 18 Resize antialias": `Resize mode "linear" is not supported on ethos-u55 (nearest only)`,
}

// refusedEverywhere names the forms no Ethos-U runs, with the error.
var refusedEverywhere = map[string]string{
	"opset 18 Resize antialias downsampling": "Resize with antialias that downsamples is not supported",
}

// TestOpsetNewerThanKnownIsAnErrorNamingIt: a model at an opset above the
// newest the tool knows is refused at load, naming the opset.
func TestOpsetNewerThanKnownIsAnErrorNamingIt(t *testing.T) {
	b := newGraph(24).input("x", 1, 2, 8, 8).output("y", 1, 4, 8, 8).conv3("conv", "x", "y", 2, 4)
	_, err := lower.Lower(b.model(), "")
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
					res, err := quantizeGraph(t, q, b.model(), samples)
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
					t.Run(fmt.Sprintf("%s %s in ORT", scheme, target), func(t *testing.T) { runsInORT(t, res.Model, b, tol) })
				}
			}
		})
	}
}
