package ethosu_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/calib/dataset"
	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// gb writes small float models by hand.
type gb struct {
	g      *onnxpb.GraphProto
	opset  int64
	inputs [][2]any // name, dims
	funcs  []*onnxpb.FunctionProto
}

func newGraph(opset int64) *gb {
	return &gb{g: &onnxpb.GraphProto{Name: proto.String("golden")}, opset: opset}
}

func vinfo(name string, dtype onnxpb.TensorProto_DataType, dims []int64) *onnxpb.ValueInfoProto {
	tt := &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(dtype))}
	if dims != nil {
		sh := &onnxpb.TensorShapeProto{Dim: []*onnxpb.TensorShapeProto_Dimension{}}
		for _, d := range dims {
			sh.Dim = append(sh.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
		}
		tt.Shape = sh
	}
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: tt}}}
}

func (b *gb) input(name string, dims ...int64) *gb {
	b.g.Input = append(b.g.Input, vinfo(name, onnxpb.TensorProto_FLOAT, dims))
	b.inputs = append(b.inputs, [2]any{name, dims})
	return b
}

func (b *gb) output(name string, dims ...int64) *gb {
	b.g.Output = append(b.g.Output, vinfo(name, onnxpb.TensorProto_FLOAT, dims))
	return b
}

func (b *gb) outputTyped(name string, dtype onnxpb.TensorProto_DataType, dims ...int64) *gb {
	b.g.Output = append(b.g.Output, vinfo(name, dtype, dims))
	return b
}

func (b *gb) init(name string, dims []int64, data ...float32) *gb {
	b.g.Initializer = append(b.g.Initializer, &onnxpb.TensorProto{Name: proto.String(name), Dims: dims,
		DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), FloatData: data})
	return b
}

func (b *gb) initInt64(name string, dims []int64, data ...int64) *gb {
	b.g.Initializer = append(b.g.Initializer, &onnxpb.TensorProto{Name: proto.String(name), Dims: dims,
		DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Int64Data: data})
	return b
}

func (b *gb) node(name, op string, in, out []string, attrs ...*onnxpb.AttributeProto) *gb {
	b.g.Node = append(b.g.Node, &onnxpb.NodeProto{Name: proto.String(name), OpType: proto.String(op), Input: in, Output: out, Attribute: attrs})
	return b
}

func (b *gb) model() *onnxpb.ModelProto {
	m := &onnxpb.ModelProto{IrVersion: proto.Int64(8), ProducerName: proto.String("ethosu-test"),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(b.opset)}},
		Graph:       proto.Clone(b.g).(*onnxpb.GraphProto)}
	if len(b.funcs) > 0 {
		// Model-local functions with attribute defaults need IR 9.
		m.IrVersion = proto.Int64(9)
		for _, f := range b.funcs {
			m.Functions = append(m.Functions, proto.Clone(f).(*onnxpb.FunctionProto))
			if !slices.ContainsFunc(m.OpsetImport, func(o *onnxpb.OperatorSetIdProto) bool { return o.GetDomain() == f.GetDomain() }) {
				m.OpsetImport = append(m.OpsetImport, &onnxpb.OperatorSetIdProto{Domain: f.Domain, Version: proto.Int64(1)})
			}
		}
	}
	return m
}

// ramp returns n deterministic pseudo-random values in [lo, hi).
func ramp(seed uint64, n int, lo, hi float32) []float32 {
	r := rand.New(rand.NewPCG(seed, 11))
	out := make([]float32, n)
	for i := range out {
		out[i] = lo + (hi-lo)*r.Float32()
	}
	return out
}

// writeSamples writes n random samples of every input of b into a temp
// folder, one folder of <input>.npy per sample, and returns the folder.
// Input k of sample s is drawn from [lo_k, hi_k) of ranges (default [-1, 1)).
func writeSamples(t testing.TB, b *gb, n int, ranges ...[2]float32) string {
	t.Helper()
	dir := t.TempDir()
	for s := 0; s < n; s++ {
		sd := filepath.Join(dir, fmt.Sprintf("sample_%03d", s))
		if err := os.MkdirAll(sd, 0o755); err != nil {
			t.Fatal(err)
		}
		for k, in := range b.inputs {
			dims := in[1].([]int64)
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
			d := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(ramp(uint64(100*s+k), size, lo, hi)))
			if err := dataset.WriteNPY(filepath.Join(sd, in[0].(string)+".npy"), d); err != nil {
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
	d, err := onnxio.ToDense(init, "")
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

// runsInORT runs the quantized model and b's float model in ONNX Runtime on
// one fresh sample and checks every output agrees within tol·max|float|.
func runsInORT(t *testing.T, quantized *onnxpb.ModelProto, b *gb, tol float64) {
	t.Helper()
	testenv.ORT(t)
	in := map[string]*tensor.Dense{}
	for k, v := range b.inputs {
		dims := v[1].([]int64)
		shape := make([]int, len(dims))
		size := 1
		for i, d := range dims {
			shape[i], size = int(d), size*int(d)
		}
		in[v[0].(string)] = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(ramp(uint64(9000+k), size, -1, 1)))
	}
	ref, names := runORT(t, marshal(t, b.model()), []map[string]*tensor.Dense{in})
	got, _ := runORT(t, marshal(t, quantized), []map[string]*tensor.Dense{in})
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
