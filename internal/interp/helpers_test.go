package interp_test

import (
	"math"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/interp"
	"github.com/onnxquant/onnxquant/internal/kernels"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio"
)

// loadModule reads and lowers an ONNX model.
func loadModule(t testing.TB, path string) *lower.GraphModule {
	t.Helper()
	m, err := onnxio.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	gm, err := lower.Lower(m.Proto, m.Dir)
	if err != nil {
		t.Fatalf("lower %s: %v", path, err)
	}
	return gm
}

func newInterp(t testing.TB, gm *lower.GraphModule, workers int) *interp.Interpreter {
	t.Helper()
	it, err := interp.New(gm, interp.Options{Workers: workers})
	if err != nil {
		t.Fatal(err)
	}
	return it
}

// f64s reads any numeric tensor as float64s.
func f64s(t testing.TB, d *tensor.Dense) []float64 {
	t.Helper()
	c, err := kernels.Cast(d, tensor.Float64)
	if err != nil {
		t.Fatalf("as float64: %v", err)
	}
	switch v := c.Data().(type) {
	case []float64:
		return v
	case float64:
		return []float64{v}
	}
	t.Fatalf("unexpected data %T", c.Data())
	return nil
}

// relL2 is ||got-want|| / ||want||.
func relL2(t testing.TB, got, want *tensor.Dense) float64 {
	t.Helper()
	if !got.Shape().Eq(want.Shape()) {
		t.Fatalf("shape %v, want %v", got.Shape(), want.Shape())
	}
	g, w := f64s(t, got), f64s(t, want)
	var num, den float64
	for i := range g {
		d := g[i] - w[i]
		num += d * d
		den += w[i] * w[i]
	}
	if den == 0 {
		return math.Sqrt(num)
	}
	return math.Sqrt(num / den)
}

// readSample reads one calibration sample as inputs of gm.
func readSample(t testing.TB, gm *lower.GraphModule, path string) map[string]*tensor.Dense {
	t.Helper()
	return testenv.ReadSample(t, path, gm.Graph.Placeholders()[0].Outputs[0].Name)
}
