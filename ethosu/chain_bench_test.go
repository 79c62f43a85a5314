package ethosu_test

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// chainModel is x [1,8] through n nodes alternating Add (of a constant
// of its own)
// and Relu: the shape of a deep network with no width, so the time is the
// per-node cost of the passes.
func chainModel(n int) *onnxpb.ModelProto {
	info := func(name string) *onnxpb.ValueInfoProto {
		sh := &onnxpb.TensorShapeProto{Dim: []*onnxpb.TensorShapeProto_Dimension{
			{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: 1}},
			{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: 8}}}}
		return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
			TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Shape: sh}}}}
	}
	g := &onnxpb.GraphProto{Name: proto.String("chain"), Input: []*onnxpb.ValueInfoProto{info("x")}}
	prev := "x"
	for i := range n {
		out := fmt.Sprintf("v%d", i)
		node := &onnxpb.NodeProto{Name: proto.String(fmt.Sprintf("n%d", i)), Output: []string{out}}
		if i%2 == 0 {
			// Each layer has its own weights, as in a real network.
			c := fmt.Sprintf("c%d", i)
			g.Initializer = append(g.Initializer, &onnxpb.TensorProto{Name: proto.String(c), Dims: []int64{1, 8},
				DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), FloatData: []float32{0.5, -0.25, 0.125, 1, -1, 0.75, -0.5, float32(i%7) / 8}})
			node.OpType, node.Input = proto.String("Add"), []string{prev, c}
		} else {
			node.OpType, node.Input = proto.String("Relu"), []string{prev}
		}
		g.Node = append(g.Node, node)
		prev = out
	}
	g.Output = []*onnxpb.ValueInfoProto{info(prev)}
	return &onnxpb.ModelProto{IrVersion: proto.Int64(8), Graph: g,
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}}}
}

// BenchmarkQuantizeChain times lowering and quantizing (one calibration
// sample) chains of 2,000 to 200,000 nodes; time per node should stay
// flat (BENCHMARKS.md). Run with -benchtime=1x: one iteration is long.
func BenchmarkQuantizeChain(b *testing.B) {
	dir := b.TempDir()
	sample := filepath.Join(dir, "x.npy")
	if err := dataset.WriteNPY(sample, tensor.New(tensor.WithShape(1, 8), tensor.WithBacking([]float32{1, 2, 3, 4, -1, -2, -3, -4}))); err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{2000, 20000, 60000, 200000} {
		m := chainModel(n)
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			cpu0 := cpuSeconds()
			for range b.N {
				gm, err := lower.Lower(proto.Clone(m).(*onnxpb.ModelProto), dir)
				if err != nil {
					b.Fatal(err)
				}
				set, err := dataset.Open([]string{sample}, dataset.InputSpecs(gm))
				if err != nil {
					b.Fatal(err)
				}
				spec, err := ethosu.NewCompileSpec("ethos-u55-128", "", "")
				if err != nil {
					b.Fatal(err)
				}
				q := ethosu.NewEthosUQuantizer(spec)
				cfg, _ := ethosu.SchemeConfig("int8", false)
				q.SetGlobal(cfg)
				if _, err := q.QuantizeWithSubmodules(context.Background(), gm, set, false); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/node")
			// CPU time is what the machine's load does not inflate.
			b.ReportMetric((cpuSeconds()-cpu0)*1e6/float64(b.N*n), "cpu-µs/node")
		})
	}
}

// cpuSeconds is the user and system CPU time the process has used.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	sec := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return sec(ru.Utime) + sec(ru.Stime)
}
