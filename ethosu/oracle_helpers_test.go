package ethosu_test

import (
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/testoracle"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// runOracle runs model on every input set in oracle o and returns, per
// graph output (in the graph's order), the flattened values of every
// input set, as runORT does for ONNX Runtime.
func runOracle(t *testing.T, o testoracle.Oracle, model *onnxpb.ModelProto, inputs []map[string]*tensor.Dense) [][][]float64 {
	t.Helper()
	out := make([][][]float64, len(model.Graph.Output))
	for _, in := range inputs {
		res, err := o.Run(model, in)
		if err != nil {
			t.Fatalf("%s: %v", o.Name, err)
		}
		for i, vi := range model.Graph.Output {
			d, ok := res[vi.GetName()]
			if !ok {
				t.Fatalf("%s: no output %q", o.Name, vi.GetName())
			}
			out[i] = append(out[i], float64s(t, d))
		}
	}
	return out
}
