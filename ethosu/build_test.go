package ethosu_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/internal/onnxdense"
	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// writeSamples writes n random samples of every input of b into a temp
// folder, one folder of <input>.npy per sample, and returns the folder.
// Input k of sample s is drawn from [lo_k, hi_k) of ranges (default [-1, 1)).
func writeSamples(t testing.TB, b *testmodel.Builder, n int, ranges ...[2]float32) string {
	t.Helper()
	dir := t.TempDir()
	for s := 0; s < n; s++ {
		sd := filepath.Join(dir, fmt.Sprintf("sample_%03d", s))
		if err := os.MkdirAll(sd, 0o755); err != nil {
			t.Fatal(err)
		}
		for k, in := range b.Inputs() {
			dims := in.Dims
			shape := make([]int, len(dims))
			size := 1
			for i, d := range dims {
				shape[i] = int(d)
				size *= int(d)
			}
			lo, hi := float32(-1), float32(1)
			if k < len(ranges) {
				lo, hi = ranges[k][0], ranges[k][1]
			}
			d := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(testmodel.Ramp(uint64(100*s+k), size, lo, hi)))
			if err := dataset.WriteNPY(filepath.Join(sd, in.Name+".npy"), d); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// quantizeGraph lowers m and quantizes it with samples from dir.
func quantizeGraph(t testing.TB, q *ethosu.Quantizer, m *onnxpb.ModelProto, dir string) (*ethosu.Result, error) {
	t.Helper()
	gm, err := lower.Lower(m, "")
	if err != nil {
		t.Fatal(err)
	}
	// Every stage and transform pass must leave the users index in step.
	q.Verify = (*lower.GraphModule).CheckUsersIndex
	return q.QuantizeWithSubmodules(context.Background(), gm, openSet(t, gm, []string{dir}), false)
}

// byName indexes the nodes and initializers of a raised graph.
type graphIndex struct {
	nodes    map[string]*onnxpb.NodeProto // by output name
	inits    map[string]*onnxpb.TensorProto
	byOpType map[string][]*onnxpb.NodeProto
}

func indexGraph(g *onnxpb.GraphProto) graphIndex {
	ix := graphIndex{nodes: map[string]*onnxpb.NodeProto{}, inits: map[string]*onnxpb.TensorProto{}, byOpType: map[string][]*onnxpb.NodeProto{}}
	for _, n := range g.Node {
		for _, o := range n.Output {
			ix.nodes[o] = n
		}
		ix.byOpType[n.GetOpType()] = append(ix.byOpType[n.GetOpType()], n)
	}
	for _, t := range g.Initializer {
		ix.inits[t.GetName()] = t
	}
	return ix
}

func (ix graphIndex) floats(t testing.TB, name string) []float32 {
	t.Helper()
	init := ix.inits[name]
	if init == nil {
		t.Fatalf("no initializer %q", name)
	}
	v, err := onnxio.Float32s(init, "")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (ix graphIndex) ints(t testing.TB, name string) []int32 {
	t.Helper()
	init := ix.inits[name]
	if init == nil {
		t.Fatalf("no initializer %q", name)
	}
	d, err := onnxdense.ToDense(init, "")
	if err != nil {
		t.Fatal(err)
	}
	var out []int32
	switch v := d.Data().(type) {
	case []int8:
		for _, x := range v {
			out = append(out, int32(x))
		}
	case []int16:
		for _, x := range v {
			out = append(out, int32(x))
		}
	case []int32:
		out = v
	case int8:
		out = []int32{int32(v)}
	case int16:
		out = []int32{int32(v)}
	case int32:
		out = []int32{v}
	case []uint8:
		for _, x := range v {
			out = append(out, int32(x))
		}
	case uint8:
		out = []int32{int32(v)}
	default:
		t.Fatalf("initializer %q: unexpected data %T", name, d.Data())
	}
	return out
}

// qparamsOf returns the scale and zero point of a Q or DQ node.
func (ix graphIndex) qparamsOf(t testing.TB, n *onnxpb.NodeProto) ([]float32, []int32) {
	t.Helper()
	return ix.floats(t, n.Input[1]), ix.ints(t, n.Input[2])
}

// runsInReference runs the quantized model and b's float model on one fresh
// sample (in ONNX Runtime, or the interpreter without it: runReference) and
// checks every output agrees within tol·max|float|.
func runsInReference(t *testing.T, quantized *onnxpb.ModelProto, b *testmodel.Builder, tol float64) {
	t.Helper()
	in := map[string]*tensor.Dense{}
	for k, v := range b.Inputs() {
		dims := v.Dims
		shape := make([]int, len(dims))
		size := 1
		for i, d := range dims {
			shape[i], size = int(d), size*int(d)
		}
		in[v.Name] = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(testmodel.Ramp(uint64(9000+k), size, -1, 1)))
	}
	ref, names := runReference(t, marshal(t, b.Model()), []map[string]*tensor.Dense{in})
	got, _ := runReference(t, marshal(t, quantized), []map[string]*tensor.Dense{in})
	for o, name := range names {
		var amax, worst float64
		for i := range ref[o][0] {
			amax = max(amax, math.Abs(ref[o][0][i]))
			worst = max(worst, math.Abs(ref[o][0][i]-got[o][0][i]))
		}
		if worst > tol*amax {
			t.Errorf("output %q: quantized differs by %g, more than %g of max %g", name, worst, tol, amax)
		}
	}
}
