package interp_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/interp"
	"github.com/onnxquant/onnxquant/internal/kernels"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

func f32(t *testing.T, shape []int, v ...float32) *tensor.Dense {
	t.Helper()
	d, err := kernels.New(shape, v)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// tinyModel is y = Relu(x + x) * x for x [2,3], opset 17, plus extra nodes.
func tinyModel(t *testing.T, extra ...*onnxpb.NodeProto) *lower.GraphModule {
	t.Helper()
	g := &onnxpb.GraphProto{
		Name:   proto.String("tiny"),
		Input:  []*onnxpb.ValueInfoProto{testmodel.ValueInfo("x", onnxpb.TensorProto_FLOAT, []int64{2, 3})},
		Output: []*onnxpb.ValueInfoProto{testmodel.ValueInfo("y", onnxpb.TensorProto_FLOAT, []int64{2, 3})},
		Node: append([]*onnxpb.NodeProto{
			testmodel.NamedNode("add", "Add", []string{"x", "x"}, []string{"s"}),
			testmodel.NamedNode("relu", "Relu", []string{"s"}, []string{"r"}),
			testmodel.NamedNode("mul", "Mul", []string{"r", "x"}, []string{"y"}),
		}, extra...),
	}
	m := &onnxpb.ModelProto{IrVersion: proto.Int64(8), Graph: g,
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(17)}}}
	gm, err := lower.Lower(m, "")
	if err != nil {
		t.Fatal(err)
	}
	return gm
}

type recorder struct {
	mu      sync.Mutex
	entered []string
	values  []string
}

func (r *recorder) Enter(m string) { r.mu.Lock(); r.entered = append(r.entered, m); r.mu.Unlock() }
func (r *recorder) Value(m string, v *lower.Value, _ *tensor.Dense) {
	r.mu.Lock()
	r.values = append(r.values, m+":"+v.Name)
	r.mu.Unlock()
}

func TestRunComputesHandCheckedValuesAndObservesEachNode(t *testing.T) {
	it := newInterp(t, tinyModel(t), 1)
	rec := &recorder{}
	out, err := it.Run(context.Background(), map[string]*tensor.Dense{"x": f32(t, []int{2, 3}, -1, 0, 1, 2, -3, 0.5)}, rec)
	if err != nil {
		t.Fatal(err)
	}
	// Relu(2x)*x: negatives give 0, positives 2x².
	want := []float32{0, 0, 2, 8, 0, 0.5}
	got := out["y"].Data().([]float32)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("y = %v, want %v", got, want)
		}
	}
	if strings.Join(rec.entered, ",") != "" || len(rec.entered) != 1 {
		t.Errorf("Enter calls %q, want one call with the top level", rec.entered)
	}
	if got := strings.Join(rec.values, ","); got != ":x,:s,:r,:y" {
		t.Errorf("observed %s, want the input then each node's output: :x,:s,:r,:y", got)
	}
}

func TestRunNamesInputAndBothShapesOnShapeMismatch(t *testing.T) {
	it := newInterp(t, tinyModel(t), 1)
	_, err := it.Run(context.Background(), map[string]*tensor.Dense{"x": f32(t, []int{3, 2}, 1, 2, 3, 4, 5, 6)}, nil)
	var ie *interp.InputError
	if !errors.As(err, &ie) || ie.Input != "x" {
		t.Fatalf("err = %v, want an InputError for x", err)
	}
	for _, s := range []string{"[3 2]", "[2 3]"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention shape %s", err, s)
		}
	}
}

func TestRunRejectsWrongDtypeMissingAndUnknownInputs(t *testing.T) {
	it := newInterp(t, tinyModel(t), 1)
	ints, _ := kernels.New([]int{2, 3}, []int64{1, 2, 3, 4, 5, 6})
	cases := map[string]map[string]*tensor.Dense{
		"int64":   {"x": ints},
		"missing": {},
		"nope":    {"x": f32(t, []int{2, 3}, 1, 2, 3, 4, 5, 6), "nope": f32(t, []int{1}, 1)},
	}
	for want, inputs := range cases {
		_, err := it.Run(context.Background(), inputs, nil)
		var ie *interp.InputError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v", want, err)
		}
	}
}

func TestNewListsEveryUnsupportedNode(t *testing.T) {
	gm := tinyModel(t,
		testmodel.NamedNode("bern", "Bernoulli", []string{"y"}, []string{"d1"}),
		testmodel.NamedNode("sn", "StringNormalizer", []string{"y"}, []string{"d2"}),
	)
	_, err := interp.New(gm, interp.Options{})
	var ue *interp.UnsupportedOpError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v, want *UnsupportedOpError", err)
	}
	if len(ue.Nodes) != 2 || ue.Nodes[0].Node != "bern" || ue.Nodes[1].Node != "sn" {
		t.Fatalf("nodes = %+v, want bern and sn", ue.Nodes)
	}
	for _, s := range []string{`"bern" (Bernoulli-17)`, `"sn" (StringNormalizer-17)`} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q lacks %s", err, s)
		}
	}
}

func TestRunStopsWhenContextIsCancelled(t *testing.T) {
	it := newInterp(t, tinyModel(t), 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := it.Run(ctx, map[string]*tensor.Dense{"x": f32(t, []int{2, 3}, 1, 2, 3, 4, 5, 6)}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestRunErrorInsideABodyNamesNodeOpAndModule(t *testing.T) {
	// If(cond) { Reshape(x [2,3], [5]) } else { Identity(x) }: the then
	// branch fails at run time.
	shape := testmodel.NamedNode("five", "Constant", nil, []string{"five"})
	shape.Attribute = []*onnxpb.AttributeProto{lower.TensorAttr("value", &onnxpb.TensorProto{
		DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Dims: []int64{1}, Int64Data: []int64{5}})}
	then := &onnxpb.GraphProto{Name: proto.String("then"),
		Output: []*onnxpb.ValueInfoProto{{Name: proto.String("r")}},
		Node:   []*onnxpb.NodeProto{shape, testmodel.NamedNode("/blk/bad/Reshape", "Reshape", []string{"x", "five"}, []string{"r"})}}
	els := &onnxpb.GraphProto{Name: proto.String("else"),
		Output: []*onnxpb.ValueInfoProto{{Name: proto.String("e")}},
		Node:   []*onnxpb.NodeProto{testmodel.NamedNode("id", "Identity", []string{"x"}, []string{"e"})}}
	ifn := testmodel.NamedNode("if", "If", []string{"c"}, []string{"y"})
	ifn.Attribute = []*onnxpb.AttributeProto{
		{Name: proto.String("then_branch"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: then},
		{Name: proto.String("else_branch"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: els}}
	g := &onnxpb.GraphProto{Name: proto.String("g"),
		Input:  []*onnxpb.ValueInfoProto{testmodel.ValueInfo("x", onnxpb.TensorProto_FLOAT, []int64{2, 3}), testmodel.ValueInfo("c", onnxpb.TensorProto_BOOL, []int64{})},
		Output: []*onnxpb.ValueInfoProto{{Name: proto.String("y")}},
		Node:   []*onnxpb.NodeProto{ifn}}
	gm, err := lower.Lower(&onnxpb.ModelProto{IrVersion: proto.Int64(8), Graph: g,
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(17)}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	it := newInterp(t, gm, 1)
	x := f32(t, []int{2, 3}, 1, 2, 3, 4, 5, 6)
	if _, err := it.Run(context.Background(), map[string]*tensor.Dense{"x": x, "c": scalar(t, false)}, nil); err != nil {
		t.Fatalf("else branch: %v", err)
	}
	_, err = it.Run(context.Background(), map[string]*tensor.Dense{"x": x, "c": scalar(t, true)}, nil)
	var ne *interp.NodeError
	if !errors.As(err, &ne) {
		t.Fatalf("err = %v, want a *NodeError", err)
	}
	if ne.Node != "/blk/bad/Reshape" || ne.Op != "Reshape" || ne.Module != "If_0.then_branch" {
		t.Errorf("error names node %q (%s) in %q, want /blk/bad/Reshape (Reshape) in If_0.then_branch", ne.Node, ne.Op, ne.Module)
	}
	if want := `node "/blk/bad/Reshape" (Reshape) in If_0.then_branch: `; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q does not start with %q", err, want)
	}
}

func TestBodiesAreEnteredAndObservedWithQualifiedNames(t *testing.T) {
	corpus := testenv.Corpus(t)
	gm := loadModule(t, filepath.Join(corpus, "models", "branchy_if_loop.onnx"))
	it := newInterp(t, gm, 1)
	entered := map[string]int{}
	for _, path := range testenv.Samples(t, "branchy") {
		rec := &recorder{}
		if _, err := it.Run(context.Background(), readSample(t, gm, path), rec); err != nil {
			t.Fatal(err)
		}
		for _, m := range rec.entered {
			entered[m]++
		}
		for _, v := range rec.values {
			m := v[:strings.LastIndexByte(v, ':')]
			if m != "" && gm.Submodule(m) == nil {
				t.Fatalf("value %s observed in unknown module %q", v, m)
			}
		}
	}
	if entered[""] != 16 {
		t.Errorf("top level entered %d times, want 16", entered[""])
	}
	var bodies []string
	_ = gm.Walk(func(m *lower.GraphModule) error {
		if m.Name != "" {
			bodies = append(bodies, m.Name)
		}
		return nil
	})
	for _, b := range bodies {
		if entered[b] == 0 {
			t.Errorf("body %s never entered over the calibration set", b)
		}
	}
}

func TestResNet18OutputDoesNotDependOnWorkers(t *testing.T) {
	corpus := testenv.Corpus(t)
	gm := loadModule(t, filepath.Join(corpus, "models", "resnet18.onnx"))
	inputs := readSample(t, gm, testenv.Samples(t, "imagenet224")[0])
	var outs [2][]float32
	for i, w := range []int{1, 2} {
		out, err := newInterp(t, gm, w).Run(context.Background(), inputs, nil)
		if err != nil {
			t.Fatal(err)
		}
		outs[i] = out["logits"].Data().([]float32)
	}
	for i := range outs[0] {
		if outs[0][i] != outs[1][i] {
			t.Fatalf("logit %d: %v with 1 worker, %v with 2", i, outs[0][i], outs[1][i])
		}
	}
}

func TestConcurrentRunsAgree(t *testing.T) {
	corpus := testenv.Corpus(t)
	gm := loadModule(t, filepath.Join(corpus, "models", "silero_vad_legacy.onnx"))
	it := newInterp(t, gm, 1)
	paths := testenv.Samples(t, "silero_legacy_8k")[:4]
	paths = append(paths, testenv.Samples(t, "silero_legacy_16k")[:4]...)
	serial := make([]map[string]*tensor.Dense, len(paths))
	for i, p := range paths {
		out, err := it.Run(context.Background(), readSample(t, gm, p), nil)
		if err != nil {
			t.Fatal(err)
		}
		serial[i] = out
	}
	var wg sync.WaitGroup
	errs := make([]error, len(paths))
	par := make([]map[string]*tensor.Dense, len(paths))
	for i, p := range paths {
		in := readSample(t, gm, p)
		wg.Add(1)
		go func() {
			defer wg.Done()
			par[i], errs[i] = it.Run(context.Background(), in, nil)
		}()
	}
	wg.Wait()
	for i := range paths {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		for name, s := range serial[i] {
			if e := relL2(t, par[i][name], s); e != 0 {
				t.Errorf("%s %s: concurrent run differs (%g)", paths[i], name, e)
			}
		}
	}
}
