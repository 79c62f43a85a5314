package qpass_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/internal/testoracle"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// rotaryCaches returns cos and sin of the angles pos * 10000^(-2i/rd),
// rows of half = rd/2 values, for positions 0..rows-1.
func rotaryCaches(rows, half int) (cos, sin []float32) {
	for p := 0; p < rows; p++ {
		for i := 0; i < half; i++ {
			a := float64(p) * math.Pow(10000, -float64(2*i)/float64(2*half))
			cos, sin = append(cos, float32(math.Cos(a))), append(sin, float32(math.Sin(a)))
		}
	}
	return cos, sin
}

// opset23Models are the opset 23 operators the annotation pipeline
// decomposes, in the forms exporters write them.
func opset23Models() map[string]*testmodel.Builder {
	cos, sin := rotaryCaches(8, 4)
	cos2, sin2 := rotaryCaches(6, 2)
	return map[string]*testmodel.Builder{
		"RMSNormalization last axis": testmodel.New(23).Input("x", 2, 3, 8).
			Init("g", []int64{8}, randFloats(31, 8)...).
			Node("RMSNormalization", []string{"x", "g"}, []string{"y"}, lower.FloatAttr("epsilon", 1e-3)).
			Output("y", 2, 3, 8),
		"RMSNormalization axis 1": testmodel.New(23).Input("x", 2, 3, 4).
			Init("g", []int64{3, 4}, randFloats(32, 12)...).
			Node("RMSNormalization", []string{"x", "g"}, []string{"y"}, lower.IntAttr("axis", 1)).
			Output("y", 2, 3, 4),
		// (batch, heads, seq, head) with position ids and constant caches.
		"RotaryEmbedding 4-D position ids": testmodel.New(23).Input("x", 1, 2, 5, 8).
			Init("cos", []int64{8, 4}, cos...).Init("sin", []int64{8, 4}, sin...).
			InitInt64("pos", []int64{1, 5}, 3, 4, 5, 6, 7).
			Node("RotaryEmbedding", []string{"x", "cos", "sin", "pos"}, []string{"y"}).
			Output("y", 1, 2, 5, 8),
		// (batch, seq, hidden) with 2 heads, interleaved pairs, half of
		// each head rotated.
		"RotaryEmbedding 3-D interleaved partial": testmodel.New(23).Input("x", 1, 6, 16).
			Init("cos", []int64{6, 2}, cos2...).Init("sin", []int64{6, 2}, sin2...).
			InitInt64("pos", []int64{1, 6}, 0, 1, 2, 3, 4, 5).
			Node("RotaryEmbedding", []string{"x", "cos", "sin", "pos"}, []string{"y"}, lower.IntAttr("interleaved", 1),
				lower.IntAttr("num_heads", 2), lower.IntAttr("rotary_embedding_dim", 4)).
			Output("y", 1, 6, 16),
		// Self-attention over (batch, heads, seq, head) with a float mask.
		"Attention 4-D float mask": testmodel.New(23).Input("q", 1, 2, 5, 8).Input("k", 1, 2, 6, 8).Input("v", 1, 2, 6, 4).
			Init("mask", []int64{5, 6}, randFloats(33, 30)...).
			Node("Attention", []string{"q", "k", "v", "mask"}, []string{"y"}).
			Output("y", 1, 2, 5, 4),
		// (batch, seq, heads·head) with 2 heads, a given scale, and the
		// present key and value asked for.
		"Attention 3-D present": testmodel.New(23).Input("q", 1, 4, 12).Input("k", 1, 3, 12).Input("v", 1, 3, 12).
			Node("Attention", []string{"q", "k", "v"}, []string{"y", "pk", "pv"}, lower.IntAttr("q_num_heads", 2),
				lower.IntAttr("kv_num_heads", 2), lower.FloatAttr("scale", 0.3)).
			Output("y", 1, 4, 12).Output("pk", 1, 2, 3, 6).Output("pv", 1, 2, 3, 6),
		// Caches per (batch, seq) given as inputs, no position ids.
		"RotaryEmbedding caches as inputs": testmodel.New(23).Input("x", 1, 2, 3, 4).Input("cos", 1, 3, 2).Input("sin", 1, 3, 2).
			Node("RotaryEmbedding", []string{"x", "cos", "sin"}, []string{"y"}).
			Output("y", 1, 2, 3, 4),
	}
}

func TestOpset23NormalizationAndRotaryDecomposeAndMatchONNXRuntime(t *testing.T) {
	for name, b := range opset23Models() {
		t.Run(name, func(t *testing.T) {
			m := b.Model()
			p := pass(t, "decompose-layernorm")
			switch {
			case strings.HasPrefix(name, "RotaryEmbedding"):
				p = pass(t, "decompose-rotary")
			case strings.HasPrefix(name, "Attention"):
				p = pass(t, "decompose-attention")
			}
			out := runPass(t, m, nil, p)
			ops := opTypes(out)
			if slices.Contains(ops, "RMSNormalization") || slices.Contains(ops, "RotaryEmbedding") || slices.Contains(ops, "Attention") {
				t.Fatalf("not decomposed: %v", ops)
			}
			inputs := b.RandomInputs(41)
			sameOutputs(t, m, out, inputs, 1e-5)
			// The interpreter's own kernels for the opset 23 operators
			// against ONNX Runtime's.
			if testenv.ORT(t) {
				want, err := testoracle.ORT.Run(m, inputs)
				if err != nil {
					t.Fatal(err)
				}
				got, err := testoracle.Interpreter.Run(m, inputs)
				if err != nil {
					t.Fatal(err)
				}
				for name, w := range want {
					if e := maxRelErr(t, w, got[name]); e > 1e-5 {
						t.Errorf("%s: interpreter differs from ONNX Runtime by %.3g", name, e)
					}
				}
			}
		})
	}
}

func TestRMSNormalizationDecomposesWithoutTheMean(t *testing.T) {
	out := runPass(t, opset23Models()["RMSNormalization last axis"].Model(), nil, pass(t, "decompose-layernorm"))
	want := []string{"Mul", "ReduceMean", "Add", "Pow", "Mul", "Mul"}
	if got := opTypes(out); !slices.Equal(got, want) {
		t.Fatalf("ops %v, want %v", got, want)
	}
	if eps := initializer(out, out.Graph.Node[2].Input[1]); eps.FloatData[0] != 1e-3 {
		t.Errorf("epsilon %v, want 1e-3", eps.FloatData)
	}
}

// Attention forms that put −inf into the scores, or that the rewrite does
// not write, stay for the legality check to name.
func TestAttentionFormsTheRewriteDoesNotWriteStay(t *testing.T) {
	for name, attrs := range map[string][]*onnxpb.AttributeProto{
		"causal":  {lower.IntAttr("is_causal", 1)},
		"softcap": {lower.FloatAttr("softcap", 30)},
	} {
		b := testmodel.New(23).Input("q", 1, 2, 5, 8).Input("k", 1, 2, 5, 8).Input("v", 1, 2, 5, 8).
			Node("Attention", []string{"q", "k", "v"}, []string{"y"}, attrs...).Output("y", 1, 2, 5, 8)
		out := runPass(t, b.Model(), nil, pass(t, "decompose-attention"))
		if ops := opTypes(out); !slices.Equal(ops, []string{"Attention"}) {
			t.Errorf("%s: ops %v, want the Attention left", name, ops)
		}
	}
}
