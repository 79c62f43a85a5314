package onnxquant_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant"
	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/internal/evaluate"
	"github.com/onnxquant/onnxquant/internal/testmodel"
)

// oneCause is y = (x + c)·m with c = [1000, 0, …] and m = [0, 1, …]: the
// node "wide" adds one huge value per sample, so its 8-bit grid (step ≈ 8)
// erases every other value, which "pick" then keeps while dropping the
// huge one. Only the grid of "wide" loses: promoting it (with its reader)
// to a16w8 restores the output, promoting anything else gains nothing.
func oneCause(t *testing.T, dir string) string {
	c := make([]float32, 64)
	m := make([]float32, 64)
	c[0] = 1000
	for i := 1; i < 64; i++ {
		m[i] = 1
	}
	b := testmodel.New(13).Input("x", 1, 64).Output("y", 1, 64).
		Init("c", []int64{1, 64}, c...).Init("m", []int64{1, 64}, m...).
		NamedNode("pre", "Relu", []string{"x"}, []string{"r"}).
		NamedNode("wide", "Add", []string{"r", "c"}, []string{"w"}).
		NamedNode("pick", "Mul", []string{"w", "m"}, []string{"y"})
	return b.Save(t, dir, "one_cause.onnx")
}

func writeSamples(t *testing.T, dir string, from, n int) []string {
	var paths []string
	for s := from; s < from+n; s++ {
		p := filepath.Join(dir, fmt.Sprintf("x_%03d.npy", s))
		d := tensor.New(tensor.WithShape(1, 64), tensor.WithBacking(testmodel.Ramp(uint64(s), 64, -1, 1)))
		if err := dataset.WriteNPY(p, d); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// TestSensitivityRanksThePromotionThatHelps ranks eval's hints on
// oneCause by quantizing it again with each hinted node at a16w8: "wide"
// (moved with its reader "pick") must lead with a large gain, and the
// other hints gain little.
func TestSensitivityRanksThePromotionThatHelps(t *testing.T) {
	dir := t.TempDir()
	model := oneCause(t, dir)
	calib := writeSamples(t, dir, 0, 12)
	data := writeSamples(t, dir, 100, 8)
	quant := filepath.Join(dir, "one_cause_int8.onnx")
	if _, err := onnxquant.Quantize(context.Background(), model, quant, onnxquant.Options{Calib: calib}); err != nil {
		t.Fatal(err)
	}
	p, err := onnxquant.NewPromoter(model, onnxquant.Options{Calib: calib})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := evaluate.EvaluateFiles(context.Background(), model, quant, data, evaluate.Options{Sensitivity: true, Promoter: p, HintBelow: 1000, MaxHints: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Hints) < 2 {
		t.Fatalf("hints %+v: want wide and at least one other", rep.Hints)
	}
	for _, h := range rep.Hints {
		g := "-"
		if h.PromotionGain != nil {
			g = h.PromotionGain.String()
		}
		t.Logf("%s %s: gain %s with %v", h.Node, h.Tensor, g, h.PromotionConfig)
	}
	top := rep.Hints[0]
	if top.Node != "wide" || top.PromotionGain == nil || *top.PromotionGain < 15 {
		t.Fatalf("first hint %+v: want node wide gaining 15 dB or more", top)
	}
	if got := strings.Join(top.PromotionConfig, " "); !strings.Contains(got, "node_name: {wide: a16w8}") || !strings.Contains(got, "node_name: {pick: a16w8}") {
		t.Errorf("promotion config %q: want wide and its reader pick", got)
	}
	for _, h := range rep.Hints[1:] {
		if h.PromotionGain != nil && *h.PromotionGain > *top.PromotionGain-10 {
			t.Errorf("hint %s gains %s, close to wide's %s: the ranking does not single out the cause", h.Node, *h.PromotionGain, *top.PromotionGain)
		}
	}
}

// TestSensitivityFallsBackToFloatWhereTheTargetForbids ranks the hints of
// y = Log(Exp(8·x)) on Ethos-U55, whose Exp and Log (TABLE ops) have no
// 16-bit form: the Exp's grid loses the most, its promotion is forbidden
// and says why, and its hint carries the float diagnostic instead.
func TestSensitivityFallsBackToFloatWhereTheTargetForbids(t *testing.T) {
	dir := t.TempDir()
	model := testmodel.New(13).Input("x", 1, 64).Output("y", 1, 64).
		Init("k", []int64{1}, 8).
		NamedNode("scale", "Mul", []string{"x", "k"}, []string{"s"}).
		NamedNode("grow", "Exp", []string{"s"}, []string{"e"}).
		NamedNode("shrink", "Log", []string{"e"}, []string{"y"}).
		Save(t, dir, "exp_log.onnx")
	calib := writeSamples(t, dir, 0, 12)
	data := writeSamples(t, dir, 100, 8)
	quant := filepath.Join(dir, "exp_log_int8.onnx")
	opts := onnxquant.Options{Calib: calib, Target: "ethos-u55-128"}
	if _, err := onnxquant.Quantize(context.Background(), model, quant, opts); err != nil {
		t.Fatal(err)
	}
	p, err := onnxquant.NewPromoter(model, opts)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := evaluate.EvaluateFiles(context.Background(), model, quant, data, evaluate.Options{Sensitivity: true, Promoter: p, HintBelow: 1000, MaxHints: 5})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, h := range rep.Hints {
		t.Logf("%+v", h)
		if h.Node != "grow" {
			continue
		}
		found = true
		if !strings.Contains(h.Forbidden, `Exp node "grow" stays at 8 bits`) || !strings.Contains(h.Forbidden, "table-int8") {
			t.Errorf("grow: forbidden %q, want the Exp named with the rule", h.Forbidden)
		}
		if h.PromotionGain != nil || h.FloatGain == nil || *h.FloatGain <= 0 {
			t.Errorf("grow: promotion gain %v, float gain %v: want only the float diagnostic, positive", h.PromotionGain, h.FloatGain)
		}
	}
	if !found {
		t.Fatalf("no hint names grow: %+v", rep.Hints)
	}
}
