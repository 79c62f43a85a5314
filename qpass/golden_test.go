package qpass_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/internal/golden"
	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/qpass"
)

// goldenCase is a small model that makes one transform pass rewrite
// something. The golden file shows the graph right before and right after
// the pass, with every earlier pass of the pipeline run first, so a change to
// any pass's output shows up as a reviewable diff of testdata/passes.
type goldenCase struct {
	pass  string
	model func() *testmodel.Builder
	ctx   qpass.PassContext
}

func goldenCases() []goldenCase {
	return []goldenCase{
		{pass: "fold-constants", model: func() *testmodel.Builder {
			// Shape -> Gather -> Unsqueeze -> Concat -> Reshape: the flatten
			// idiom exporters write, constant once shapes are known.
			return testmodel.New(13).Input("x", 2, 3, 4).
				InitInt64("zero", nil, 0).InitInt64("minus1", []int64{1}, -1).
				Node("Shape", []string{"x"}, []string{"s"}).
				Node("Gather", []string{"s", "zero"}, []string{"n"}, lower.IntAttr("axis", 0)).
				Node("Unsqueeze", []string{"n", "axes"}, []string{"n1"}).
				InitInt64("axes", []int64{1}, 0).
				Node("Concat", []string{"n1", "minus1"}, []string{"shape"}, lower.IntAttr("axis", 0)).
				Node("Reshape", []string{"x", "shape"}, []string{"y"}).
				Output("y", 2, 12)
		}},
		{pass: "raise-opset", ctx: qpass.PassContext{TargetOpset: 13}, model: func() *testmodel.Builder {
			return testmodel.New(11).Input("x", 2, 3).
				Node("Softmax", []string{"x"}, []string{"p"}, lower.IntAttr("axis", 1)).
				Node("Unsqueeze", []string{"p"}, []string{"y"}, lower.IntsAttr("axes", 0)).
				Output("y", 1, 2, 3)
		}},
		{pass: "fold-batchnorm", model: func() *testmodel.Builder {
			return withBN(testmodel.New(13)).Input("x", 1, 1, 3, 3).
				Init("w", []int64{2, 1, 1, 1}, 3, -1).
				Node("Conv", []string{"x", "w"}, []string{"c"}).
				Node("BatchNormalization", []string{"c", "gamma", "beta", "mean", "var"}, []string{"y"}).
				Output("y", 1, 2, 3, 3)
		}},
		{pass: "equalize-cross-layer", ctx: qpass.PassContext{EqualizeCrossLayer: true}, model: func() *testmodel.Builder {
			// Channel 0 of the first Conv is 20 times channel 1; the
			// second Conv weighs them the other way round.
			return testmodel.New(13).Input("x", 1, 1, 3, 3).
				Init("w1", []int64{2, 1, 1, 1}, 4, 0.2).Init("b1", []int64{2}, 1, 0.1).
				Init("w2", []int64{1, 2, 1, 1}, 0.1, 2).
				Node("Conv", []string{"x", "w1", "b1"}, []string{"h"}).
				Node("Relu", []string{"h"}, []string{"r"}).
				Node("Conv", []string{"r", "w2"}, []string{"y"}).
				Output("y", 1, 1, 3, 3)
		}},
		{pass: "decompose-layernorm", model: func() *testmodel.Builder {
			return testmodel.New(17).Input("x", 2, 4).
				Init("scale", []int64{4}, 1, 2, 3, 4).Init("bias", []int64{4}, 0, 0.5, 1, 1.5).
				Node("LayerNormalization", []string{"x", "scale", "bias"}, []string{"y"}, lower.IntAttr("axis", -1)).
				Output("y", 2, 4)
		}},
		{pass: "fold-new-constants", model: func() *testmodel.Builder {
			// A GroupNormalization decomposes into reshapes whose targets
			// come from Shape nodes; they fold once shapes are inferred.
			return testmodel.New(18).Input("x", 1, 4, 2, 2).
				Init("scale", []int64{2}, 1, 2).Init("bias", []int64{2}, 0, 0.5).
				Node("GroupNormalization", []string{"x", "scale", "bias"}, []string{"y"}, lower.IntAttr("num_groups", 2)).
				Output("y", 1, 4, 2, 2)
		}},
		{pass: "decompose-attention", model: func() *testmodel.Builder {
			return opset23Models()["Attention 3-D present"]
		}},
		{pass: "decompose-rotary", model: func() *testmodel.Builder {
			return opset23Models()["RotaryEmbedding 3-D interleaved partial"]
		}},
		{pass: "decompose-lstm", model: func() *testmodel.Builder { return lstmModel(14, "forward", 0, false) }},
		{pass: "decompose-gru", model: func() *testmodel.Builder { return gruModel("forward", 0, true, true) }},
		{pass: "decompose-reflect-pad", ctx: qpass.PassContext{NeedsDecomposition: qpass.Decompositions{ReflectPad: true}},
			model: func() *testmodel.Builder {
				return padModel(13, "reflect", padCase{shape: []int64{1, 2, 5}, pads: []int64{0, 0, 2, 0, 0, 1}})
			}},
		{pass: "recognize-gelu", model: func() *testmodel.Builder { return geluModel(21, "torch") }},
		{pass: "scalars-to-tensors", model: func() *testmodel.Builder {
			return testmodel.New(13).Input("x", 2, 3).Init("two", nil, 2).
				Node("Mul", []string{"x", "two"}, []string{"y"}).Output("y", 2, 3)
		}},
		{pass: "div-to-mul", model: func() *testmodel.Builder {
			return testmodel.New(13).Input("x", 1, 3).Init("d", []int64{1, 3}, 4, -0.5, 8).
				Node("Div", []string{"x", "d"}, []string{"y"}).Output("y", 1, 3)
		}},
		{pass: "decompose-softmax", ctx: qpass.PassContext{NeedsDecomposition: qpass.Decompositions{Softmax: true}},
			model: func() *testmodel.Builder {
				return testmodel.New(13).Input("x", 2, 5).
					Node("Softmax", []string{"x"}, []string{"p"}).
					Node("LogSoftmax", []string{"p"}, []string{"y"}).Output("y", 2, 5)
			}},
		{pass: "eliminate-dead-code", model: func() *testmodel.Builder {
			return testmodel.New(13).Input("x", 2, 3).
				Node("Relu", []string{"x"}, []string{"y"}).
				Node("Neg", []string{"x"}, []string{"unused"}).
				Output("y", 2, 3)
		}},
	}
}

// Shape inference changes no node, and the dump does not print shapes, so
// the three inference passes have no golden file.
var inferencePasses = []string{"infer-shapes", "reinfer-shapes", "infer-new-shapes"}

func TestPassGoldenDumps(t *testing.T) {
	all := qpass.TransformForAnnotationPasses()
	covered := map[string]bool{}
	for _, c := range goldenCases() {
		covered[c.pass] = true
		t.Run(c.pass, func(t *testing.T) {
			i := slices.IndexFunc(all, func(p qpass.Pass) bool { return p.Name == c.pass })
			if i < 0 {
				t.Fatalf("no pass %q in the pipeline", c.pass)
			}
			gm, err := lower.Lower(c.model().Model(), "")
			if err != nil {
				t.Fatal(err)
			}
			ctx := c.ctx
			if err := qpass.RunPasses(gm, all[:i], &ctx); err != nil {
				t.Fatal(err)
			}
			before := qpass.Dump(gm)
			if err := qpass.RunPasses(gm, all[i:i+1], &ctx); err != nil {
				t.Fatal(err)
			}
			after := qpass.Dump(gm)
			if before == after {
				t.Errorf("the model does not make %s rewrite anything", c.pass)
			}
			var b strings.Builder
			b.WriteString("# Graph before and after the pass " + c.pass + ", every earlier pass run first.\n")
			b.WriteString("# Regenerate: go test ./qpass -run TestPassGoldenDumps -update\n")
			b.WriteString("--- before\n" + before + "--- after\n" + after)
			golden.Check(t, filepath.Join("testdata", "passes", c.pass+".txt"), b.String())
		})
	}
	for _, p := range all {
		if !covered[p.Name] && !slices.Contains(inferencePasses, p.Name) {
			t.Errorf("pass %q has no golden case: add a model that makes it rewrite something", p.Name)
		}
	}
}
