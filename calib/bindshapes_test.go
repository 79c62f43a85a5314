package calib_test

import (
	"fmt"
	"testing"

	"github.com/onnxquant/onnxquant/calib"
	"github.com/onnxquant/onnxquant/calib/sample"
	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/lower"
)

func reluModel(t *testing.T, dims ...int64) *lower.GraphModule {
	t.Helper()
	b := testmodel.New(17).Input("x", dims...).Node("Relu", []string{"x"}, []string{"y"}).Output("y", dims...)
	gm, err := lower.Lower(b.Model(), "")
	if err != nil {
		t.Fatal(err)
	}
	return gm
}

// Sizing a model with dynamic inputs runs every sample, which takes
// seconds on large models: it is a counted phase, reported at its start
// and after each sample, in order; a model with static inputs runs no
// sample and reports nothing.
func TestBindShapesCountsTheSamplesItRuns(t *testing.T) {
	var samples sample.List
	for i := range 5 {
		samples = append(samples, map[string]sample.Tensor{"x": {Shape: []int{1, 4}, Float32: []float32{float32(i), -1, 2, -3}}})
	}
	for _, c := range []struct {
		dims []int64
		want string
	}{
		{[]int64{-1, 4}, "[0/5 1/5 2/5 3/5 4/5 5/5]"},
		{[]int64{1, 4}, "[]"},
	} {
		gm := reluModel(t, c.dims...)
		var calls []string
		_, err := calib.BindShapes(t.Context(), gm, samples, calib.Options{Progress: func(done, total int) {
			calls = append(calls, fmt.Sprintf("%d/%d", done, total))
		}})
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(calls); got != c.want {
			t.Errorf("input %v: progress calls %s, want %s", c.dims, got, c.want)
		}
		if got := gm.Graph.Placeholders()[0].Outputs[0].Shape; fmt.Sprint(got) != fmt.Sprint(reluModel(t, 1, 4).Graph.Placeholders()[0].Outputs[0].Shape) {
			t.Errorf("input %v: bound to %v, want [1 4]", c.dims, got)
		}
	}
}
