package qpass_test

import (
	"math"
	"slices"
	"testing"

	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/lower"
)

// bnParams are two channels: gamma, beta, mean, var.
func withBN(b *testmodel.Builder) *testmodel.Builder {
	return b.Init("gamma", []int64{2}, 2, 0.5).Init("beta", []int64{2}, 1, -1).
		Init("mean", []int64{2}, 0.5, -2).Init("var", []int64{2}, 4, 0.25)
}

func TestFoldBatchNormFoldsIntoConvWeightsAndCreatesBias(t *testing.T) {
	b := withBN(testmodel.New(13)).Input("x", 1, 1, 3, 3).
		Init("w", []int64{2, 1, 1, 1}, 3, -1).
		Node("Conv", []string{"x", "w"}, []string{"c"}).
		Node("BatchNormalization", []string{"c", "gamma", "beta", "mean", "var"}, []string{"y"}, lower.FloatAttr("epsilon", 0)).
		Output("y", 1, 2, 3, 3)
	m := b.Model()
	out := runPass(t, m, nil, pass(t, "fold-batchnorm"))
	if got := opTypes(out); !slices.Equal(got, []string{"Conv"}) {
		t.Fatalf("ops %v, want [Conv]", got)
	}
	conv := out.Graph.Node[0]
	if conv.Output[0] != "y" || len(conv.Input) != 3 {
		t.Fatalf("conv %v -> %v, want 3 inputs and output y", conv.Input, conv.Output)
	}
	// scale = gamma/sqrt(var) = [1, 1]; shift = beta - mean*scale = [0.5, 1].
	w := initializer(out, conv.Input[1]).FloatData
	bias := initializer(out, conv.Input[2]).FloatData
	if !slices.Equal(w, []float32{3, -1}) || !slices.Equal(bias, []float32{0.5, 1}) {
		t.Errorf("folded weights %v bias %v, want [3 -1] [0.5 1]", w, bias)
	}
	sameOutputs(t, m, out, b.RandomInputs(1), 1e-5)
}

func TestFoldBatchNormScalesExistingBiasOfGemm(t *testing.T) {
	b := withBN(testmodel.New(13)).Input("x", 3, 4).
		Init("w", []int64{4, 2}, 1, 2, 3, 4, 5, 6, 7, 8).
		Init("c", []int64{2}, 10, 20).
		Node("Gemm", []string{"x", "w", "c"}, []string{"g"}, lower.FloatAttr("beta", 0.5)).
		Node("BatchNormalization", []string{"g", "gamma", "beta", "mean", "var"}, []string{"y"}, lower.FloatAttr("epsilon", 0)).
		Output("y", 3, 2)
	m := b.Model()
	out := runPass(t, m, nil, pass(t, "fold-batchnorm"))
	if got := opTypes(out); !slices.Equal(got, []string{"Gemm"}) {
		t.Fatalf("ops %v, want [Gemm]", got)
	}
	gemm := out.Graph.Node[0]
	// scale [1, 1]: weights unchanged; bias = 0.5*[10,20] - mean + beta = [5-0.5+1, 10+2-1].
	if bias := initializer(out, gemm.Input[2]).FloatData; !slices.Equal(bias, []float32{5.5, 11}) {
		t.Errorf("bias %v, want [5.5 11]", bias)
	}
	sameOutputs(t, m, out, b.RandomInputs(2), 1e-5)
}

func TestFoldBatchNormFoldsIntoGroupedConvTranspose(t *testing.T) {
	// 2 input channels, group 2, 1 output channel per group: weights (2,1,2,2).
	b := withBN(testmodel.New(13)).Input("x", 1, 2, 3, 3).
		Init("w", []int64{2, 1, 2, 2}, 1, 2, 3, 4, 5, 6, 7, 8).
		Node("ConvTranspose", []string{"x", "w"}, []string{"c"}, lower.IntAttr("group", 2)).
		Node("BatchNormalization", []string{"c", "gamma", "beta", "mean", "var"}, []string{"y"}, lower.FloatAttr("epsilon", 1e-3)).
		Output("y", 1, 2, 4, 4)
	m := b.Model()
	out := runPass(t, m, nil, pass(t, "fold-batchnorm"))
	if got := opTypes(out); !slices.Equal(got, []string{"ConvTranspose"}) {
		t.Fatalf("ops %v, want [ConvTranspose]", got)
	}
	sameOutputs(t, m, out, b.RandomInputs(3), 1e-5)
}

func TestFoldBatchNormDecomposesStandaloneIntoMulAddShapedForBroadcast(t *testing.T) {
	b := withBN(testmodel.New(13)).Input("x", 1, 2, 3, 3).
		Node("Relu", []string{"x"}, []string{"r"}).Shape("r", 1, 2, 3, 3).
		Node("BatchNormalization", []string{"r", "gamma", "beta", "mean", "var"}, []string{"y"}, lower.FloatAttr("epsilon", 0)).
		Output("y", 1, 2, 3, 3)
	m := b.Model()
	out := runPass(t, m, nil, pass(t, "fold-batchnorm"))
	if got := opTypes(out); !slices.Equal(got, []string{"Relu", "Mul", "Add"}) {
		t.Fatalf("ops %v, want [Relu Mul Add]", got)
	}
	s := initializer(out, out.Graph.Node[1].Input[1])
	sh := initializer(out, out.Graph.Node[2].Input[1])
	if !slices.Equal(s.Dims, []int64{2, 1, 1}) || !slices.Equal(s.FloatData, []float32{1, 1}) || !slices.Equal(sh.FloatData, []float32{0.5, 1}) {
		t.Errorf("scale %v %v shift %v, want dims [2 1 1], [1 1], [0.5 1]", s.Dims, s.FloatData, sh.FloatData)
	}
	if out.Graph.Node[2].Output[0] != "y" {
		t.Errorf("the graph output was renamed to %s", out.Graph.Node[2].Output[0])
	}
	sameOutputs(t, m, out, b.RandomInputs(4), 1e-5)
}

func TestFoldBatchNormLeavesConvWithSecondReaderAlone(t *testing.T) {
	b := withBN(testmodel.New(13)).Input("x", 1, 1, 3, 3).
		Init("w", []int64{2, 1, 1, 1}, 3, -1).
		Node("Conv", []string{"x", "w"}, []string{"c"}).
		Node("BatchNormalization", []string{"c", "gamma", "beta", "mean", "var"}, []string{"y"}).
		Node("Relu", []string{"c"}, []string{"z"}).Shape("c", 1, 2, 3, 3).
		Output("y", 1, 2, 3, 3).Output("z", 1, 2, 3, 3)
	m := b.Model()
	out := runPass(t, m, nil, pass(t, "fold-batchnorm"))
	if got := opTypes(out); !slices.Equal(got, []string{"Conv", "Mul", "Add", "Relu"}) {
		t.Fatalf("ops %v, want [Conv Mul Add Relu]", got)
	}
	want := float32(2 / math.Sqrt(4+1e-5))
	if s := initializer(out, out.Graph.Node[1].Input[1]).FloatData[0]; math.Abs(float64(s-want)) > 1e-6 {
		t.Errorf("scale %v, want %v", s, want)
	}
	sameOutputs(t, m, out, b.RandomInputs(5), 1e-5)
}
