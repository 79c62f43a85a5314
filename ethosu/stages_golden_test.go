package ethosu_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/internal/golden"
	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/quantize"
)

// stagesModel is x[1,2,4,4] -> Conv(pad 1, bias) -> Relu ->
// GlobalAveragePool -> Flatten -> Gemm -> Softmax: a small classifier that
// every rewriting stage of the pipeline touches on U55 (Softmax is
// decomposed, Conv and Relu fuse, Gemm gets an int32 bias).
func stagesModel() *testmodel.Builder {
	return testmodel.New(13).Input("x", 1, 2, 4, 4).Output("y", 1, 3).
		Init("w", []int64{3, 2, 3, 3}, testmodel.Ramp(3, 54, -0.5, 0.5)...).Init("b", []int64{3}, 0.1, -0.2, 0.3).
		Init("fc_w", []int64{3, 3}, testmodel.Ramp(4, 9, -1, 1)...).Init("fc_b", []int64{3}, 0.05, 0, -0.05).
		NamedNode("/conv/Conv", "Conv", []string{"x", "w", "b"}, []string{"c"}, lower.IntsAttr("pads", 1, 1, 1, 1)).
		NamedNode("/relu/Relu", "Relu", []string{"c"}, []string{"r"}).
		NamedNode("/pool/GlobalAveragePool", "GlobalAveragePool", []string{"r"}, []string{"p"}).
		NamedNode("/Flatten", "Flatten", []string{"p"}, []string{"f"}).
		NamedNode("/fc/Gemm", "Gemm", []string{"f", "fc_w", "fc_b"}, []string{"logits"}, lower.IntAttr("transB", 1)).
		NamedNode("/Softmax", "Softmax", []string{"logits"}, []string{"y"})
}

// The graph after every stage of the pipeline (--dump-after STAGE) on a
// small classifier, against testdata/stages.txt: a change to what any stage
// does to the graph shows up as a reviewable diff (regenerate with
// go test ./ethosu -run TestStageGoldenDumps -update).
func TestStageGoldenDumps(t *testing.T) {
	b := stagesModel()
	samples := writeSamples(t, b, 4)
	var out strings.Builder
	out.WriteString("# The graph after each stage of the pipeline: int8 on ethos-u55-128, model stagesModel.\n")
	out.WriteString("# Regenerate: go test ./ethosu -run TestStageGoldenDumps -update\n")
	previous := ""
	for _, st := range quantize.Stages() {
		var dump string
		q := ethosu.NewEthosUQuantizer(ethosu.MustCompileSpec("ethos-u55-128"))
		q.DumpAfter = st.Name
		q.Log = func(line string) {
			if rest, ok := strings.CutPrefix(line, "graph after "+st.Name+":\n"); ok {
				dump = rest
			}
		}
		if _, err := quantizeGraph(t, q, b.Model(), samples); err != nil {
			t.Fatalf("dump after %s: %v", st.Name, err)
		}
		switch {
		case dump == "":
			out.WriteString("=== " + st.Name + ": did not run\n")
		case dump == previous:
			out.WriteString("=== " + st.Name + ": graph unchanged\n")
		default:
			out.WriteString("=== " + st.Name + "\n" + dump)
			previous = dump
		}
	}
	golden.Check(t, filepath.Join("testdata", "stages.txt"), out.String())
}
