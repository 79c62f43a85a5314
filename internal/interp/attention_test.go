package interp_test

import (
	"context"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/internal/ortoracle"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// The Attention kernel's forms the quantizer does not decompose (causal, a
// boolean mask broadcast over batch and heads) against ONNX Runtime: the
// float model of such a node still runs, for eval and the SQNR floor.
func TestAttentionCausalAndBooleanMaskMatchONNXRuntime(t *testing.T) {
	if !testenv.ORT(t) {
		return
	}
	keep := make([]int32, 5*6)
	for i := range keep {
		if i%4 != 1 {
			keep[i] = 1
		}
	}
	boolMask := &onnxpb.TensorProto{Name: proto.String("mask"), Dims: []int64{5, 6},
		DataType: proto.Int32(int32(onnxpb.TensorProto_BOOL)), Int32Data: keep}
	cases := map[string]*testmodel.Builder{
		"causal": testmodel.New(23).Input("q", 1, 2, 5, 8).Input("k", 1, 2, 6, 8).Input("v", 1, 2, 6, 4).
			Node("Attention", []string{"q", "k", "v"}, []string{"y"}, lower.IntAttr("is_causal", 1)).
			Output("y", 1, 2, 5, 4),
		"bool mask 3-D": testmodel.New(23).Input("q", 2, 5, 8).Input("k", 2, 6, 8).Input("v", 2, 6, 8).
			Node("Attention", []string{"q", "k", "v", "mask"}, []string{"y"}, lower.IntAttr("q_num_heads", 2), lower.IntAttr("kv_num_heads", 2)).
			Output("y", 2, 5, 8),
	}
	g := cases["bool mask 3-D"].Graph()
	g.Initializer = append(g.Initializer, boolMask)
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			m := b.Model()
			in := b.RandomInputs(5)
			gm, err := lower.Lower(proto.Clone(m).(*onnxpb.ModelProto), "")
			if err != nil {
				t.Fatal(err)
			}
			got, err := newInterp(t, gm, 1).Run(context.Background(), in, nil)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := proto.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			want, err := ortoracle.RunBytes(raw, in)
			if err != nil {
				t.Fatal(err)
			}
			if e := relL2(t, got["y"], want["y"]); e > 1e-5 {
				t.Errorf("relative L2 error %g against ONNX Runtime", e)
			}
		})
	}
}
