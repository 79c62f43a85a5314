package ethosu_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/calib/dataset"
	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
	"github.com/onnxquant/onnxquant/quantize"
)

// evenOnlyBranch is an If on mode > 0 whose then-branch doubles x and
// whose else-branch halves it.
func evenOnlyBranch() *testmodel.Builder {
	then := &onnxpb.GraphProto{Name: proto.String("then"),
		Initializer: []*onnxpb.TensorProto{testmodel.Float32s("two", []int64{1}, 2)},
		Node:        []*onnxpb.NodeProto{{Name: proto.String("double"), OpType: proto.String("Mul"), Input: []string{"x", "two"}, Output: []string{"doubled"}}},
		Output:      []*onnxpb.ValueInfoProto{testmodel.ValueInfo("doubled", onnxpb.TensorProto_FLOAT, []int64{1, 16})}}
	els := &onnxpb.GraphProto{Name: proto.String("else"),
		Initializer: []*onnxpb.TensorProto{testmodel.Float32s("half", []int64{1}, 0.5)},
		Node:        []*onnxpb.NodeProto{{Name: proto.String("halve"), OpType: proto.String("Mul"), Input: []string{"x", "half"}, Output: []string{"halved"}}},
		Output:      []*onnxpb.ValueInfoProto{testmodel.ValueInfo("halved", onnxpb.TensorProto_FLOAT, []int64{1, 16})}}
	return testmodel.New(13).Input("x", 1, 16).Input("mode", 1).Output("y", 1, 16).Init("zero", []int64{1}, 0).
		NamedNode("positive", "Greater", []string{"mode", "zero"}, []string{"cond"}).
		NamedNode("choose", "If", []string{"cond"}, []string{"y"}, graphAttr("then_branch", then), graphAttr("else_branch", els))
}

// TestSplitReachesOneSidedPaths calibrates evenOnlyBranch on 8 samples:
// only the even ones take the then-branch, so the alternating split leaves
// the judging half without it. Within the 4 samples that take it, x spans
// [-1, 1] on samples 0 and 4 and [-1.5, 1.5] on 2 and 6: re-split among
// them, the doubled tensor is fitted on the first pair and judged on the
// second, whose values lie up to 50 % beyond the fitted range, so min/max
// widened by 50 % must win (not the min/max fallback of an unjudged path).
func TestSplitReachesOneSidedPaths(t *testing.T) {
	b := evenOnlyBranch()
	dir := t.TempDir()
	for s := 0; s < 8; s++ {
		mode, amp := float32(-1), float32(1)
		if s%2 == 0 {
			mode = 1
		}
		if s%4 == 2 {
			amp = 1.5
		}
		sd := filepath.Join(dir, fmt.Sprintf("sample_%03d", s))
		if err := os.MkdirAll(sd, 0o755); err != nil {
			t.Fatal(err)
		}
		x := testmodel.Ramp(uint64(s), 16, -amp, amp)
		x[0], x[1] = -amp, amp
		for name, d := range map[string]*tensor.Dense{
			"x":    tensor.New(tensor.WithShape(1, 16), tensor.WithBacking(x)),
			"mode": tensor.New(tensor.WithShape(1), tensor.WithBacking([]float32{mode})),
		} {
			if err := dataset.WriteNPY(filepath.Join(sd, name+".npy"), d); err != nil {
				t.Fatal(err)
			}
		}
	}
	var log []string
	q := ethosu.NewEthosUQuantizer(ethosu.MustCompileSpec("ethos-u55-128"))
	q.Accuracy = quantize.Accuracy{Observer: quantize.ObserverAuto}
	q.Log = func(s string) { log = append(log, s) }
	if _, err := quantizeGraph(t, q, b.Model(), dir); err != nil {
		t.Fatal(err)
	}
	var split, doubled string
	for _, l := range log {
		if strings.HasPrefix(l, "calibrate-split:") && strings.Contains(l, "[0 2 4 6]") {
			split = l
		}
		if strings.HasPrefix(l, `choose-ranges: "doubled"`) {
			doubled = l
		}
	}
	if split == "" {
		t.Errorf("no re-split of the then-branch among samples 0, 2, 4, 6; log:\n%s", strings.Join(log, "\n"))
	}
	if !strings.Contains(doubled, "minmax+50%") {
		t.Errorf("doubled: %q, want min/max widened by 50 %%", doubled)
	}
}
