package ethosu_test

import (
	"math"
	"testing"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/internal/testoracle"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
	"github.com/onnxquant/onnxquant/qpass"
)

// loopTripCountModel returns a model whose Loop runs int(sum(|mode|) + 1)
// times, adding x to an accumulator that starts at x: y = (trips + 1)·x.
// mode only steers the Loop.
func loopTripCountModel() *testmodel.Builder {
	body := &onnxpb.GraphProto{
		Name: proto.String("body"),
		Input: []*onnxpb.ValueInfoProto{
			testmodel.ValueInfo("iter", onnxpb.TensorProto_INT64, []int64{}),
			testmodel.ValueInfo("cond_in", onnxpb.TensorProto_BOOL, []int64{}),
			testmodel.ValueInfo("acc_in", onnxpb.TensorProto_FLOAT, []int64{1, 8}),
		},
		Output: []*onnxpb.ValueInfoProto{
			testmodel.ValueInfo("cond_out", onnxpb.TensorProto_BOOL, []int64{}),
			testmodel.ValueInfo("acc_out", onnxpb.TensorProto_FLOAT, []int64{1, 8}),
		},
		Node: []*onnxpb.NodeProto{
			{Name: proto.String("keep"), OpType: proto.String("Identity"), Input: []string{"cond_in"}, Output: []string{"cond_out"}},
			{Name: proto.String("accumulate"), OpType: proto.String("Add"), Input: []string{"acc_in", "x"}, Output: []string{"acc_out"}},
		},
	}
	b := testmodel.New(13).Input("x", 1, 8).Input("mode", 1).Output("y", 1, 8).
		Init("one", []int64{}, 1).
		NamedNode("abs", "Abs", []string{"mode"}, []string{"abs_mode"}).
		NamedNode("sum", "ReduceSum", []string{"abs_mode"}, []string{"total"}, lower.IntAttr("keepdims", 0)).
		NamedNode("plus_one", "Add", []string{"total", "one"}, []string{"trips_f"}).
		NamedNode("to_int", "Cast", []string{"trips_f"}, []string{"trips"}, lower.IntAttr("to", int64(onnxpb.TensorProto_INT64)))
	b.Graph().Initializer = append(b.Graph().Initializer, &onnxpb.TensorProto{Name: proto.String("go"), DataType: proto.Int32(int32(onnxpb.TensorProto_BOOL)), Int32Data: []int32{1}})
	b.NamedNode("loop", "Loop", []string{"trips", "go", "x"}, []string{"y"},
		&onnxpb.AttributeProto{Name: proto.String("body"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: body})
	return b
}

// TestLoopTripCountStaysExact calibrates mode in [-2, 3) and evaluates
// mode = -3: were mode quantized, the int8 grid fitted to [-2, 3) would
// saturate it to about -2 and the Loop would run 3 times instead of 4. The
// trip count is never quantized, so the quantized model runs the Loop as
// often as the float model on every target and scheme.
func TestLoopTripCountStaysExact(t *testing.T) {
	for _, o := range testoracle.All(t) {
		t.Run(o.Name, func(t *testing.T) {
			b := loopTripCountModel()
			samples := writeSamples(t, b, 8, [2]float32{-1, 1}, [2]float32{-2, 3})
			x := testmodel.Ramp(7, 8, -1, 1)
			in := map[string]*tensor.Dense{
				"x":    tensor.New(tensor.WithShape(1, 8), tensor.WithBacking(x)),
				"mode": tensor.New(tensor.WithShape(1), tensor.WithBacking([]float32{-3})),
			}
			ref := runOracle(t, o, b.Model(), []map[string]*tensor.Dense{in})
			for i, v := range x {
				if want := 5 * float64(v); math.Abs(ref[0][0][i]-want) > 1e-5 {
					t.Fatalf("float model: y[%d] = %g, want %g (the model is not what the test means)", i, ref[0][0][i], want)
				}
			}
			for _, scheme := range []string{"int8", "a16w8"} {
				for _, target := range []string{"ethos-u55-128", "ethos-u85-256"} {
					q := ethosu.NewEthosUQuantizer(ethosu.MustCompileSpec(target))
					if scheme == "a16w8" {
						q.SetGlobal(qpass.SymmetricA16W8(true, false))
					}
					res, err := quantizeGraph(t, q, b.Model(), samples)
					if err != nil {
						t.Fatalf("%s %s: %v", scheme, target, err)
					}
					for _, n := range res.Model.Graph.Node {
						if n.GetOpType() == "QuantizeLinear" && n.Input[0] == "mode" {
							t.Errorf("%s %s: the trip-count input mode is quantized", scheme, target)
						}
					}
					for _, v := range res.Legality.Nodes {
						if (v.Op == "Abs" || v.Op == "ReduceSum") && v.Placement != ethosu.OnHost {
							t.Errorf("%s %s: %s placed %s, want on the host", scheme, target, v.Node, v.Placement)
						}
					}
					got := runOracle(t, o, res.Model, []map[string]*tensor.Dense{in})
					for i, v := range x {
						// 5·x through int8 activations: a step of the
						// accumulator's grid, far below the x a lost trip costs.
						if d := math.Abs(got[0][0][i] - ref[0][0][i]); d > 0.25*math.Abs(float64(v))+0.05 {
							t.Errorf("%s %s: y[%d] = %g, float %g: the Loop ran a different number of times", scheme, target, i, got[0][0][i], ref[0][0][i])
						}
					}
				}
			}
		})
	}
}
