package lower_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// forgetTypes clears what the model declared about every computed value,
// so only inference can fill it in.
func forgetTypes(gm *lower.GraphModule) {
	_ = gm.Walk(func(m *lower.GraphModule) error {
		for _, n := range m.Graph.Nodes {
			if n.Op != lower.CallFunction && n.Op != lower.CallModule {
				continue
			}
			for _, v := range n.Outputs {
				if v != nil {
					v.DType, v.Shape, v.HasShape = 0, nil, false
				}
			}
		}
		return nil
	})
}

// With the calibration inputs' shapes bound, inference gives every graph
// output the exact shape ONNX Runtime produced for it.
func TestInferShapesMatchesORTOutputsOnCorpus(t *testing.T) {
	dir, files := corpusModels(t)
	for _, f := range files {
		model := strings.TrimSuffix(filepath.Base(f), ".onnx")
		t.Run(model, func(t *testing.T) {
			gm := lowerFile(t, f)
			forgetTypes(gm)
			shapes := calibInputShapes(t, dir, model, inputNames(gm))
			if err := lower.InferShapes(gm, shapes); err != nil {
				t.Fatal(err)
			}
			for _, v := range gm.Graph.OutputNode().Inputs {
				want, err := npyShape(testenv.ReferencePath(dir, model, "sample_000", v.Name))
				if err != nil {
					t.Fatal(err)
				}
				got, ok := knownDims(v.Shape)
				if !v.HasShape || !ok || !slices.Equal(got, want) {
					t.Errorf("output %q: inferred %s, ORT gave %v", v.Name, dimsString(v.Shape), want)
				}
				if v.DType != int32(onnxpb.TensorProto_FLOAT) {
					t.Errorf("output %q: inferred dtype %d, want FLOAT", v.Name, v.DType)
				}
			}
			// Every value of the top-level graph is fully known once the
			// inputs are fixed, except outputs of If/Loop whose shapes
			// really vary.
			total, known := 0, 0
			_ = gm.Walk(func(m *lower.GraphModule) error {
				for _, n := range m.Graph.Nodes {
					for _, v := range n.Outputs {
						if v == nil {
							continue
						}
						total++
						if _, ok := knownDims(v.Shape); ok && v.HasShape && v.DType != 0 {
							known++
						} else if m.Owner == nil && n.Op == lower.CallFunction {
							t.Errorf("%s (%s) output %q: dtype %d shape %s not fully inferred", n.Name, n.Target.OpType, v.Name, v.DType, dimsString(v.Shape))
						}
					}
				}
				return nil
			})
			t.Logf("%s: %d of %d values fully inferred", model, known, total)
		})
	}
}

// Without bound inputs, inference still knows the ranks and fixed sizes of
// silero's state outputs (the batch goes through Ifs whose branches differ
// in rank, so it may stay unknown) and keeps the batch symbol through the
// export's Shape/Gather/Concat/Reshape idiom.
func TestInferShapesKeepsSymbols(t *testing.T) {
	dir := testenv.Corpus(t)
	gm := lowerFile(t, filepath.Join(dir, "models", "silero_vad_legacy.onnx"))
	forgetTypes(gm)
	if err := lower.InferShapes(gm, nil); err != nil {
		t.Fatal(err)
	}
	for _, v := range gm.Graph.OutputNode().Inputs {
		if v.Name == "hn" || v.Name == "cn" {
			if got := dimsString(v.Shape); got != "[2,batch,64]" && got != "[2,?,64]" {
				t.Errorf("%s: %s, want [2,batch,64]", v.Name, got)
			}
		}
	}
	body := gm.Submodule("If_0.then_branch")
	if v := body.Graph.OwnValue("input_data0"); v == nil || dimsString(v.Shape) != "[batch,1,sequence]" {
		t.Errorf("Reshape through Shape arithmetic: got %v", v)
	}
}

// The ONNX node tests declare their outputs' shapes; inference must agree
// wherever it knows a size, and know most of them.
func TestInferShapesAgreesWithNodeTests(t *testing.T) {
	dir := testenv.Corpus(t)
	files, _ := filepath.Glob(filepath.Join(dir, "onnx-node", "*", "model.onnx"))
	total, full := 0, 0
	var missing []string
	for _, f := range files {
		name := filepath.Base(filepath.Dir(f))
		gm, err := lower.Lower(loadModel(t, f), filepath.Dir(f))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		type decl struct {
			dtype int32
			shape []lower.Dim
			has   bool
		}
		declared := map[*lower.Value]decl{}
		for _, v := range gm.Graph.OutputNode().Inputs {
			declared[v] = decl{v.DType, slices.Clone(v.Shape), v.HasShape}
		}
		forgetTypes(gm)
		if err := lower.InferShapes(gm, nil); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		for v, d := range declared {
			if v.Producer.Op != lower.CallFunction && v.Producer.Op != lower.CallModule {
				continue
			}
			total++
			if v.DType != 0 && v.DType != d.dtype {
				t.Errorf("%s output %q: dtype %d, declared %d", name, v.Name, v.DType, d.dtype)
			}
			if v.HasShape && d.has {
				if len(v.Shape) != len(d.shape) {
					t.Errorf("%s output %q: shape %s, declared %s", name, v.Name, dimsString(v.Shape), dimsString(d.shape))
					continue
				}
				for i := range v.Shape {
					if v.Shape[i].Known() && d.shape[i].Known() && v.Shape[i] != d.shape[i] {
						t.Errorf("%s output %q: shape %s, declared %s", name, v.Name, dimsString(v.Shape), dimsString(d.shape))
						break
					}
				}
			}
			if _, ok := knownDims(v.Shape); ok && v.HasShape && v.DType == d.dtype {
				full++
			} else {
				missing = append(missing, name+"("+v.Producer.Target.OpType+")")
			}
		}
	}
	t.Logf("node tests: %d of %d outputs fully inferred", full, total)
	if testing.Verbose() {
		t.Logf("not inferred: %v", missing)
	}
	// Most of the rest are training/loss and sequence ops, and shapes
	// that depend on graph inputs' values.
	if full*100 < total*65 {
		t.Errorf("only %d of %d node-test outputs inferred", full, total)
	}
}
