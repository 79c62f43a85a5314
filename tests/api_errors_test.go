package tests

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/calib"
	"github.com/onnxquant/onnxquant/calib/sample"
	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// quantizeAPI runs the library flow on a model file and sample paths,
// through public packages only.
func quantizeAPI(t *testing.T, ctx context.Context, q *ethosu.Quantizer, model string, samples ...string) (*ethosu.Result, error) {
	t.Helper()
	m, err := onnxio.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	gm, err := lower.Lower(m.Proto, m.Dir)
	if err != nil {
		t.Fatal(err)
	}
	set, err := calib.OpenSamples(gm, samples...)
	if err != nil {
		return nil, err
	}
	return q.QuantizeWithSubmodules(ctx, gm, set, false)
}

func u55(t *testing.T) *ethosu.Quantizer {
	spec, err := ethosu.NewCompileSpec("ethos-u55-128", "", "")
	if err != nil {
		t.Fatal(err)
	}
	return ethosu.NewEthosUQuantizer(spec)
}

func TestLibraryErrorsCanBeTestedWithErrorsIsAndAs(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	tiny := repo("models", "tinynet.onnx")

	t.Run("unsupported ops", func(t *testing.T) {
		calibDir := writeSamples(t, 2, []int{1, 8}, func(i, j int) float32 { return float32(j-3) * 0.25 * float32(i+1) })
		for _, exotic := range []bool{false, true} {
			_, err := quantizeAPI(t, ctx, u55(t), unsupportedModel(t, dir, exotic), calibDir)
			var ill *ethosu.IllegalModelError
			var uns *lower.UnsupportedOpError
			var ops []string
			switch {
			case errors.As(err, &ill):
				ops = ill.Ops()
			case errors.As(err, &uns):
				ops = uns.Ops()
			default:
				t.Fatalf("err %v (%T), want an *ethosu.IllegalModelError or *lower.UnsupportedOpError", err, err)
			}
			want := []string{"NonZero", "TopK"}
			if exotic {
				want = []string{"NonMaxSuppression", "Unique"}
			}
			for _, op := range want {
				if !slices.Contains(ops, op) {
					t.Errorf("ops %v lack %s: %v", ops, op, err)
				}
			}
		}
	})

	t.Run("uncovered path", func(t *testing.T) {
		// Every sample sums to more than 0, so the else branch never runs.
		calibDir := writeSamples(t, 3, []int{1, 4}, func(i, j int) float32 { return float32(i+j) + 0.5 })
		_, err := quantizeAPI(t, ctx, u55(t), ifModel(t, dir), calibDir)
		var up *calib.UncoveredPathError
		if !errors.As(err, &up) {
			t.Fatalf("err %v (%T), want *calib.UncoveredPathError", err, err)
		}
		if len(up.Paths) != 1 || up.Paths[0].Module != "If_0.else_branch" {
			t.Errorf("uncovered paths %+v, want If_0.else_branch", up.Paths)
		}
	})

	t.Run("bad sample", func(t *testing.T) {
		shape := writeSamples(t, 1, []int{1, 3, 16, 16}, func(i, j int) float32 { return 0 })
		_, err := quantizeAPI(t, ctx, u55(t), tiny, shape)
		var se *sample.Error
		if !errors.As(err, &se) || !errors.Is(err, sample.ErrShapeMismatch) || se.Input != "input" {
			t.Errorf("wrong shape: err %v, want a *sample.Error for input \"input\" wrapping ErrShapeMismatch", err)
		}
		nan := writeSamples(t, 1, []int{1, 3, 32, 32}, func(i, j int) float32 {
			if j == 5 {
				return float32(math.NaN())
			}
			return 1
		})
		_, err = quantizeAPI(t, ctx, u55(t), tiny, nan)
		if !errors.As(err, &se) || !errors.Is(err, sample.ErrNonFinite) {
			t.Errorf("NaN: err %v, want a *sample.Error wrapping ErrNonFinite", err)
		}
	})

	t.Run("illegal for target", func(t *testing.T) {
		// No global config leaves every node float: Ethos-U runs none.
		_, err := quantizeAPI(t, ctx, u55(t).SetGlobal(nil), tiny, repo("models", "tinynet_calib"))
		var ill *ethosu.IllegalModelError
		if !errors.As(err, &ill) || ill.Target != "ethos-u55-128" || len(ill.Violations) == 0 {
			t.Fatalf("err %v, want an *ethosu.IllegalModelError for ethos-u55-128", err)
		}
		for _, v := range ill.Violations {
			if v.Node == "" || v.Rule == "" {
				t.Errorf("violation %+v does not name its node and rule", v)
			}
		}
	})
}

func TestQuantizeWithSubmodulesStopsPromptlyWhenCancelled(t *testing.T) {
	tiny := repo("models", "tinynet.onnx")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := quantizeAPI(t, ctx, u55(t), tiny, repo("models", "tinynet_calib"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled before the start: err %v, want context.Canceled", err)
	}

	// Cancelled after the second sample: no further sample completes.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	done := 0
	q := u55(t)
	q.Workers = 1
	q.Progress = func(n, total int) {
		done = n
		if n == 2 {
			cancel()
		}
	}
	_, err = quantizeAPI(t, ctx, q, tiny, repo("models", "tinynet_calib"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled during calibration: err %v, want context.Canceled", err)
	}
	if done != 2 {
		t.Errorf("%d samples calibrated after cancelling at 2 of 16", done)
	}
}

// ifModel is y = If(ReduceSum(x) > 0, Relu(x), Neg(x)) with x of shape [1, 4].
func ifModel(t *testing.T, dir string) string {
	branch := func(name, op string) *onnxpb.GraphProto {
		return &onnxpb.GraphProto{Name: proto.String(name),
			Node:   []*onnxpb.NodeProto{{OpType: proto.String(op), Name: proto.String("/" + name + "/" + op), Input: []string{"x"}, Output: []string{name + "_y"}}},
			Output: []*onnxpb.ValueInfoProto{testmodel.ValueInfo(name+"_y", onnxpb.TensorProto_FLOAT, []int64{1, 4})},
		}
	}
	b := testmodel.New(13).Input("x", 1, 4).
		NamedNode("/sum/ReduceSum", "ReduceSum", []string{"x"}, []string{"s"}).
		Init("zero", []int64{1}, 0).
		NamedNode("/cmp/Greater", "Greater", []string{"s", "zero"}, []string{"c1"}).
		NamedNode("/sq/Squeeze", "Squeeze", []string{"c1"}, []string{"c"}).
		NamedNode("/branch/If", "If", []string{"c"}, []string{"y"})
	b.Graph().Node[0].Attribute = []*onnxpb.AttributeProto{{Name: proto.String("keepdims"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(0)}}
	ifNode := b.Graph().Node[len(b.Graph().Node)-1]
	ifNode.Attribute = []*onnxpb.AttributeProto{
		{Name: proto.String("then_branch"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: branch("then", "Relu")},
		{Name: proto.String("else_branch"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: branch("else", "Neg")},
	}
	b.Graph().Output = append(b.Graph().Output, testmodel.ValueInfo("y", onnxpb.TensorProto_FLOAT, []int64{1, 4}))
	return b.Save(t, dir, filepath.Base("if.onnx"))
}
