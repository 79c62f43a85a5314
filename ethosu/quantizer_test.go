package ethosu_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/calib"
	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
	"github.com/onnxquant/onnxquant/qpass"
)

func branchyPaths(t *testing.T, corpus string, keep func(mode float32) bool) []string {
	t.Helper()
	dir := filepath.Join(corpus, "calib", "branchy")
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, de := range des {
		d, err := dataset.ReadNPY(filepath.Join(dir, de.Name(), "mode.npy"))
		if err != nil {
			t.Fatal(err)
		}
		var mode float32
		switch v := d.Data().(type) {
		case []float32:
			mode = v[0]
		case float32:
			mode = v
		default:
			t.Fatalf("mode is %T", v)
		}
		if keep(mode) {
			out = append(out, filepath.Join(dir, de.Name()))
		}
	}
	return out
}

// TestModuleNameConfigQuantizesSlowAt16Bits: with a16w8 for module "slow"
// and int8 globally, every activation read inside slow.* is int16 and
// every other one int8.
func TestModuleNameConfigQuantizesSlowAt16Bits(t *testing.T) {
	corpus := testenv.Corpus(t)
	om, _ := loadModel(t, filepath.Join(corpus, "models", "branchy_if_loop.onnx"))
	q := ethosu.NewEthosUQuantizer(u85()).SetModuleName("slow", qpass.SymmetricA16W8(true, false))
	res, err := quantizeModel(t, q, om, branchyPaths(t, corpus, func(float32) bool { return true })[:8])
	if err != nil {
		t.Fatal(err)
	}
	if v := opsetOf(res.Model); v < 21 {
		t.Errorf("opset %d: int16 QuantizeLinear needs 21", v)
	}
	counts := map[string]map[int32]int{}
	_ = res.Module.Walk(func(m *lower.GraphModule) error {
		for _, n := range m.Graph.Nodes {
			if n.Op != lower.CallFunction || n.Target.OpType == "QuantizeLinear" || n.Target.OpType == "DequantizeLinear" {
				continue
			}
			where := "elsewhere"
			if mod := n.Meta.Module(); mod == "slow" || strings.HasPrefix(mod, "slow.") {
				where = "slow"
			}
			for _, in := range n.Inputs {
				src := in.Source()
				if src == nil || src.Producer == nil || src.Producer.Target.OpType != "DequantizeLinear" {
					continue
				}
				qv := src.Producer.Inputs[0]
				if qv.Producer.Op == lower.GetAttr {
					continue // weights and biases
				}
				if counts[where] == nil {
					counts[where] = map[int32]int{}
				}
				counts[where][qv.DType]++
			}
		}
		return nil
	})
	i8, i16 := int32(onnxpb.TensorProto_INT8), int32(onnxpb.TensorProto_INT16)
	if c := counts["slow"]; c[i16] == 0 || len(c) != 1 {
		t.Errorf("activations read inside slow: %v, want int16 only", c)
	}
	if c := counts["elsewhere"]; c[i8] == 0 || len(c) != 1 {
		t.Errorf("activations read outside slow: %v, want int8 only", c)
	}
}

// TestUncalibratedBranchFailsWithCoverageError: with only positive modes
// one branch of the If is never taken; the quantizer must refuse rather
// than quantize it with unit scales.
func TestUncalibratedBranchFailsWithCoverageError(t *testing.T) {
	corpus := testenv.Corpus(t)
	om, _ := loadModel(t, filepath.Join(corpus, "models", "branchy_if_loop.onnx"))
	paths := branchyPaths(t, corpus, func(m float32) bool { return m > 0 })
	if len(paths) == 0 {
		t.Fatal("no positive-mode samples")
	}
	_, err := quantizeModel(t, ethosu.NewEthosUQuantizer(u85()), om, paths)
	var cov *calib.UncoveredPathError
	if !errors.As(err, &cov) {
		t.Fatalf("want an UncoveredPathError, got %v", err)
	}
	if len(cov.Paths) != 1 || !strings.HasPrefix(cov.Paths[0].Module, "If_0.") {
		t.Errorf("uncovered paths %+v, want one branch of If_0", cov.Paths)
	}
	if !strings.Contains(err.Error(), "add a sample") {
		t.Errorf("error does not say how to fix it: %v", err)
	}
}

// TestUnsupportedOpsAreAllListed: TopK and NonMaxSuppression have no TOSA
// INT lowering; the error names every such node with op and rule.
func TestUnsupportedOpsAreAllListed(t *testing.T) {
	b := testmodel.New(13).Input("x", 1, 8).Input("boxes", 1, 4, 4).Input("scores", 1, 1, 4).
		Output("values", 1, 3).TypedOutput("indices", onnxpb.TensorProto_INT64, 1, 3).
		TypedOutput("selected", onnxpb.TensorProto_INT64, -1, 3).
		InitInt64("k", []int64{1}, 3).InitInt64("max_out", []int64{1}, 2).
		NamedNode("relu", "Relu", []string{"x"}, []string{"r"}).
		NamedNode("top", "TopK", []string{"r", "k"}, []string{"values", "indices"}).
		NamedNode("nms", "NonMaxSuppression", []string{"boxes", "scores", "max_out"}, []string{"selected"})
	for _, target := range []string{"ethos-u55-128", "ethos-u85-256"} {
		_, err := quantizeGraph(t, ethosu.NewEthosUQuantizer(ethosu.MustCompileSpec(target)), b.Model(), writeSamples(t, b, 2))
		var ill *ethosu.IllegalModelError
		if !errors.As(err, &ill) {
			t.Fatalf("%s: want an IllegalModelError, got %v", target, err)
		}
		if !slices.Equal(ill.Ops(), []string{"NonMaxSuppression", "TopK"}) {
			t.Errorf("%s: violations name %v, want NonMaxSuppression and TopK:\n%v", target, ill.Ops(), err)
		}
		for _, name := range []string{`"top" (TopK)`, `"nms" (NonMaxSuppression)`, "not supported by Ethos-U"} {
			if !strings.Contains(err.Error(), name) {
				t.Errorf("%s: error does not name %s:\n%v", target, name, err)
			}
		}
		if ill.Target != target {
			t.Errorf("error names target %q, want %q", ill.Target, target)
		}
	}
}

func TestUnknownTargetListsTheValidOnes(t *testing.T) {
	_, err := ethosu.NewCompileSpec("ethos-u75-256", "", "")
	var ute *ethosu.UnknownTargetError
	if !errors.As(err, &ute) {
		t.Fatalf("want an UnknownTargetError, got %v", err)
	}
	for _, valid := range []string{"ethos-u55-32", "ethos-u55-64", "ethos-u55-128", "ethos-u55-256", "ethos-u65-256", "ethos-u65-512",
		"ethos-u85-128", "ethos-u85-256", "ethos-u85-512", "ethos-u85-1024", "ethos-u85-2048"} {
		if !strings.Contains(err.Error(), valid) {
			t.Errorf("error does not list %s: %v", valid, err)
		}
	}
	if len(ethosu.Targets()) != 11 {
		t.Errorf("%d targets, want the 11 of Vela's Accelerator enum", len(ethosu.Targets()))
	}
}

func TestCompileSpecDefaultsPerFamily(t *testing.T) {
	for _, c := range []struct{ target, sys, mem, tosa string }{
		{"ethos-u55-128", "Ethos_U55_High_End_Embedded", "Shared_Sram", "TOSA-1.0+INT+int16+int4+u55"},
		{"ethos-u65-512", "Ethos_U65_High_End", "Dedicated_Sram_384KB", "TOSA-1.0+INT+int16+int4+u55"},
		{"Ethos-U85-256", "Ethos_U85_SYS_DRAM_Mid", "Sram_Only", "TOSA-1.0+INT+int16+int4+cf"},
	} {
		s, err := ethosu.NewCompileSpec(c.target, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if s.SystemConfig != c.sys || s.MemoryMode != c.mem || s.TOSASpec() != c.tosa {
			t.Errorf("%s: %s/%s/%s, want %s/%s/%s", c.target, s.SystemConfig, s.MemoryMode, s.TOSASpec(), c.sys, c.mem, c.tosa)
		}
		flags := s.VelaFlags()
		if !slices.Contains(flags, "--accelerator-config="+strings.ToLower(c.target)) || !slices.Contains(flags, "--memory-mode="+c.mem) {
			t.Errorf("%s: Vela flags %v", c.target, flags)
		}
	}
	s, err := ethosu.NewCompileSpec("ethos-u85-256", "Ethos_U85_SYS_Flash_High", "Dedicated_Sram")
	if err != nil || s.SystemConfig != "Ethos_U85_SYS_Flash_High" || s.MemoryMode != "Dedicated_Sram" {
		t.Errorf("explicit settings not kept: %+v %v", s, err)
	}
	if _, err := ethosu.NewCompileSpec("ethos-u55-64", "", "Dedicated_Sram"); err == nil {
		t.Error("Dedicated_Sram accepted on U55")
	}
}
