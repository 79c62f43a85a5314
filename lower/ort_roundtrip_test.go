//go:build ort

package lower_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/internal/onnxdense"
	"github.com/onnxquant/onnxquant/internal/ortoracle"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// This file is only the ONNX Runtime comparison (lowering and raising every
// node test without it is TestLowerRaiseIsIdentityOnCorpus), so it builds
// only with the ort tag.

// Every ONNX node test that ONNX Runtime runs gives the same outputs after
// lower → raise; the tests it refuses are listed in docs/ort-node-refusals.md
// (regenerated with ONNXQUANT_WRITE_DOCS=1) with its reason.
func TestLowerRaisePreservesOnnxRuntimeOutputsOnNodeTests(t *testing.T) {
	testenv.ORT(t)
	dirs, _ := filepath.Glob(filepath.Join(testenv.Corpus(t), "onnx-node", "test_*"))
	refused := map[string]string{}
	ran := 0
	for _, dir := range dirs {
		name := filepath.Base(dir)
		b, err := os.ReadFile(filepath.Join(dir, "model.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		m := &onnxpb.ModelProto{}
		if err := proto.Unmarshal(b, m); err != nil {
			t.Fatal(err)
		}
		gm, err := lower.Lower(m, dir)
		if err != nil {
			t.Errorf("%s: lower: %v", name, err)
			continue
		}
		r, err := lower.Raise(gm)
		if err != nil {
			t.Errorf("%s: raise: %v", name, err)
			continue
		}
		raised, err := proto.MarshalOptions{Deterministic: true}.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		inputs, err := nodeTestInputs(dir, m)
		if err != nil {
			refused[name] = "inputs: " + err.Error()
			continue
		}
		want, err := runORT(b, inputs)
		if err != nil {
			refused[name] = err.Error()
			continue
		}
		got, err := runORT(raised, inputs)
		if err != nil {
			t.Errorf("%s: ONNX Runtime runs the original but not the raised model: %v", name, err)
			continue
		}
		if !sameOutputs(want, got) {
			t.Errorf("%s: outputs differ after lower → raise", name)
		}
		ran++
	}
	t.Logf("%d node tests compared in ONNX Runtime, %d refused by it", ran, len(refused))
	if ran < 871 {
		t.Errorf("only %d node tests ran in ONNX Runtime", ran)
	}
	if os.Getenv("ONNXQUANT_WRITE_DOCS") == "1" {
		writeRefusals(t, refused, ran)
	}
}

func runORT(model []byte, inputs map[string]*tensor.Dense) (map[string]*tensor.Dense, error) {
	s, err := ortoracle.NewSessionBytes(model, ortoracle.Options{Threads: 1})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return s.Run(inputs)
}

// nodeTestInputs reads test_data_set_0/input_N.pb, naming each tensor by
// the N-th graph input that is not an initializer.
func nodeTestInputs(dir string, m *onnxpb.ModelProto) (map[string]*tensor.Dense, error) {
	inits := map[string]bool{}
	for _, t := range m.Graph.Initializer {
		inits[t.GetName()] = true
	}
	var names []string
	for _, in := range m.Graph.Input {
		if !inits[in.GetName()] {
			names = append(names, in.GetName())
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "test_data_set_0", "input_*.pb"))
	sort.Slice(files, func(i, j int) bool { return pbIndex(files[i]) < pbIndex(files[j]) })
	out := map[string]*tensor.Dense{}
	for i, f := range files {
		_, d, err := dataset.ReadTensorProto(f)
		if err != nil {
			return nil, err
		}
		if i >= len(names) {
			return nil, fmt.Errorf("more input files than graph inputs")
		}
		out[names[i]] = d
	}
	return out, nil
}

func pbIndex(path string) int {
	var n int
	fmt.Sscanf(strings.TrimSuffix(filepath.Base(path), ".pb"), "input_%d", &n)
	return n
}

func sameOutputs(a, b map[string]*tensor.Dense) bool {
	if len(a) != len(b) {
		return false
	}
	for k, x := range a {
		y, ok := b[k]
		if !ok {
			return false
		}
		xs, xEmpty := onnxdense.EmptyShape(x)
		ys, yEmpty := onnxdense.EmptyShape(y)
		if xEmpty || yEmpty {
			if !xEmpty || !yEmpty || !reflect.DeepEqual(xs, ys) || x.Dtype() != y.Dtype() {
				return false
			}
			continue
		}
		if !reflect.DeepEqual(x.Shape(), y.Shape()) || fmt.Sprint(x.Data()) != fmt.Sprint(y.Data()) {
			return false
		}
	}
	return true
}

// refusedByORT tells ONNX Runtime's own refusals (it will not build a
// session for the model, or rejects the test's data when it runs) from the
// tests its Go binding cannot feed or read (sequence and optional values;
// models without inputs).
func refusedByORT(reason string) bool {
	return strings.HasPrefix(reason, "ONNX Runtime session:") || strings.HasPrefix(reason, "Error running network:")
}

func writeRefusals(t *testing.T, refused map[string]string, ran int) {
	keys := make([]string, 0, len(refused))
	for k := range refused {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var own, binding []string
	for _, k := range keys {
		if refusedByORT(refused[k]) {
			own = append(own, k)
		} else {
			binding = append(binding, k)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# ONNX node tests that ONNX Runtime 1.30 does not run\n\n")
	fmt.Fprintf(&b, "Generated by `ONNXQUANT_WRITE_DOCS=1 go test ./lower -run TestLowerRaisePreservesOnnxRuntimeOutputsOnNodeTests`.\n")
	fmt.Fprintf(&b, "%d node tests run in ONNX Runtime and give identical outputs after lower → raise. ONNX Runtime itself refuses %d;\n", ran, len(own))
	fmt.Fprintf(&b, "%d more cannot go through the oracle's Go binding (onnxruntime_go), which does not feed or read sequence\n", len(binding))
	fmt.Fprintf(&b, "or optional values nor run a model without inputs: a limit of the test oracle, not of ONNX Runtime or of the\n")
	fmt.Fprintf(&b, "models. Zero-element, float16, bfloat16 and string tensors go through.\n\n")
	table := func(title string, names []string) {
		fmt.Fprintf(&b, "## %s\n\n| test | reason |\n|---|---|\n", title)
		for _, k := range names {
			reason := strings.ReplaceAll(strings.ReplaceAll(refused[k], "\n", " "), "|", "\\|")
			if len(reason) > 200 {
				reason = reason[:200] + "…"
			}
			fmt.Fprintf(&b, "| %s | %s |\n", k, reason)
		}
		b.WriteString("\n")
	}
	table("Refused by ONNX Runtime", own)
	table("Not fed through the Go binding", binding)
	if err := os.WriteFile(filepath.Join("..", "docs", "ort-node-refusals.md"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
