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
	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

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
		m := testmodel.Chain(n)
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
