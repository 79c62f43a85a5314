package qpass_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
	"github.com/onnxquant/onnxquant/qpass"
)

var reflectPadCtx = &qpass.PassContext{NeedsDecomposition: qpass.Decompositions{ReflectPad: true}}

// padCase is one Pad to decompose: the input shape, the ONNX pads (all
// begins, then all ends) and, from opset 18, optional axes.
type padCase struct {
	shape []int64
	pads  []int64
	axes  []int64
}

func padModel(opset int64, mode string, c padCase) *testmodel.Builder {
	b := testmodel.New(opset).Input("x", c.shape...).InitInt64("pads", []int64{int64(len(c.pads))}, c.pads...)
	in := []string{"x", "pads"}
	if c.axes != nil {
		b.InitInt64("axes", []int64{int64(len(c.axes))}, c.axes...)
		in = append(in, "", "axes")
	}
	return b.Node("Pad", in, []string{"y"}, lower.StringAttr("mode", mode)).Output("y")
}

// TestDecomposeReflectPadMatchesONNXRuntime compares the decomposition
// with ONNX Runtime's own Pad, on one and two padded axes, pads of 1 to 3,
// at opsets 13 and 21.
func TestDecomposeReflectPadMatchesONNXRuntime(t *testing.T) {
	cases := map[string]padCase{
		"1d-last":     {shape: []int64{2, 3, 7}, pads: []int64{0, 0, 3, 0, 0, 2}},
		"1d-rank1":    {shape: []int64{8}, pads: []int64{1, 3}},
		"1d-before":   {shape: []int64{1, 1, 1, 9}, pads: []int64{0, 0, 0, 2, 0, 0, 0, 0}},
		"2d-hw":       {shape: []int64{1, 2, 5, 6}, pads: []int64{0, 0, 1, 3, 0, 0, 2, 1}},
		"2d-first":    {shape: []int64{4, 5}, pads: []int64{3, 1, 1, 2}},
		"silero-like": {shape: []int64{1, 1, 1, 16}, pads: []int64{0, 0, 0, 3, 0, 0, 0, 3}},
	}
	for _, opset := range []int64{13, 21} {
		for _, mode := range []string{"reflect", "edge"} {
			for name, c := range cases {
				t.Run(fmt.Sprintf("%s/%s/opset%d", name, mode, opset), func(t *testing.T) {
					b := padModel(opset, mode, c)
					m := b.Model()
					out := runPass(t, m, reflectPadCtx, pass(t, "decompose-reflect-pad"))
					checkPadPieces(t, out, mode)
					sameOutputs(t, m, out, b.RandomInputs(21), 0)
				})
			}
		}
	}
}

// TestDecomposeReflectPadHandlesAxesAndWrap covers the opset 18+ axes input
// (negative axes included) and wrap padding (opset 19+).
func TestDecomposeReflectPadHandlesAxesAndWrap(t *testing.T) {
	cases := map[string]struct {
		mode string
		c    padCase
	}{
		"reflect-axes": {"reflect", padCase{shape: []int64{2, 3, 6}, pads: []int64{2, 1}, axes: []int64{-1}}},
		"edge-axes":    {"edge", padCase{shape: []int64{2, 5, 6}, pads: []int64{1, 3, 2, 2}, axes: []int64{2, 1}}},
		"wrap":         {"wrap", padCase{shape: []int64{1, 2, 5, 6}, pads: []int64{0, 0, 2, 1, 0, 0, 3, 2}}},
		"wrap-axes":    {"wrap", padCase{shape: []int64{3, 4}, pads: []int64{1, 3}, axes: []int64{0}}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			b := padModel(21, tc.mode, tc.c)
			m := b.Model()
			out := runPass(t, m, reflectPadCtx, pass(t, "decompose-reflect-pad"))
			checkPadPieces(t, out, tc.mode)
			sameOutputs(t, m, out, b.RandomInputs(22), 0)
		})
	}
}

// checkPadPieces asserts the Pad became Slices, Tiles and Concats, and that
// only reflect reverses (Slice with step -1).
func checkPadPieces(t *testing.T, m *onnxpb.ModelProto, mode string) {
	t.Helper()
	reversed := 0
	for _, n := range m.Graph.Node {
		switch n.GetOpType() {
		case "Slice":
			if st := initializer(m, n.Input[4]); st != nil && st.Int64Data[0] < 0 {
				reversed++
				if st.Int64Data[0] != -1 {
					t.Errorf("Slice %s has step %d, want -1", n.GetName(), st.Int64Data[0])
				}
			}
		case "Concat", "Tile":
		default:
			t.Errorf("unexpected %s in %v", n.GetOpType(), opTypes(m))
		}
	}
	if (mode == "reflect") != (reversed > 0) {
		t.Errorf("%s: %d reversing Slices in %v", mode, reversed, opTypes(m))
	}
}

func TestDecomposeReflectPadKeepsWhatItCannotOrNeedNotRewrite(t *testing.T) {
	cases := map[string]struct {
		b   *testmodel.Builder
		ctx *qpass.PassContext
	}{
		"no target flag": {padModel(13, "reflect", padCase{shape: []int64{1, 8}, pads: []int64{0, 2, 0, 2}}), nil},
		"constant mode":  {padModel(13, "constant", padCase{shape: []int64{1, 8}, pads: []int64{0, 2, 0, 2}}), reflectPadCtx},
		// reflect reaches at most n-1 = 3 elements
		"too wide": {padModel(13, "reflect", padCase{shape: []int64{1, 4}, pads: []int64{0, 4, 0, 0}}), reflectPadCtx},
		"cropping": {padModel(13, "edge", padCase{shape: []int64{1, 8}, pads: []int64{0, -1, 0, 2}}), reflectPadCtx},
		"computed pads": {testmodel.New(13).Input("x", 1, 8).Input("p", 4).
			Node("Cast", []string{"p"}, []string{"pi"}, lower.IntAttr("to", int64(onnxpb.TensorProto_INT64))).
			Node("Pad", []string{"x", "pi"}, []string{"y"}, lower.StringAttr("mode", "reflect")).Output("y"), reflectPadCtx},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			out := runPass(t, tc.b.Model(), tc.ctx, pass(t, "decompose-reflect-pad"))
			if ops := opTypes(out); !slices.Contains(ops, "Pad") {
				t.Errorf("Pad rewritten: %v", ops)
			}
		})
	}
}

func TestDecomposeReflectPadWithZeroPadsIsIdentity(t *testing.T) {
	b := padModel(13, "reflect", padCase{shape: []int64{2, 5}, pads: []int64{0, 0, 0, 0}})
	m := b.Model()
	out := runPass(t, m, reflectPadCtx, pass(t, "decompose-reflect-pad"))
	if got := opTypes(out); !slices.Equal(got, []string{"Identity"}) {
		t.Fatalf("ops %v, want [Identity]", got)
	}
	sameOutputs(t, m, out, b.RandomInputs(23), 0)
}
