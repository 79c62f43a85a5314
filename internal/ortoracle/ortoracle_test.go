//go:build ort

package ortoracle_test

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/internal/ortoracle"
	"github.com/onnxquant/onnxquant/internal/testenv"
)

func readNPY(t *testing.T, path string) *tensor.Dense {
	t.Helper()
	d, err := dataset.ReadNPY(path)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestVersionIs1_30(t *testing.T) {
	testenv.ORT(t)
	v, err := ortoracle.Version()
	if err != nil {
		t.Fatal(err)
	}
	if v != "1.30.0" {
		t.Errorf("ONNX Runtime version %s, want 1.30.0", v)
	}
}

// The corpus' reference outputs were made with ONNX Runtime 1.30 on CPU, so
// the oracle must reproduce them for every option combination.
func TestResNet18MatchesCorpusReference(t *testing.T) {
	testenv.ORT(t)
	corpus := testenv.Corpus(t)
	model := filepath.Join(corpus, "models", "resnet18.onnx")
	in := readNPY(t, filepath.Join(corpus, "calib", "imagenet224", "sample_000.npy"))
	want := readNPY(t, filepath.Join(corpus, "reference", "resnet18", "sample_000", "logits.npy"))
	modelBytes, err := os.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	for name, run := range map[string]func() (map[string]*tensor.Dense, error){
		"Run": func() (map[string]*tensor.Dense, error) {
			return ortoracle.Run(model, map[string]*tensor.Dense{"input": in})
		},
		"RunBytes": func() (map[string]*tensor.Dense, error) {
			return ortoracle.RunBytes(modelBytes, map[string]*tensor.Dense{"input": in})
		},
		"OneThreadNoOptimizations": func() (map[string]*tensor.Dense, error) {
			return ortoracle.RunWith(ortoracle.Options{Threads: 1, DisableOptimizations: true}, model, map[string]*tensor.Dense{"input": in})
		},
	} {
		t.Run(name, func(t *testing.T) {
			out, err := run()
			if err != nil {
				t.Fatal(err)
			}
			got, ok := out["logits"]
			if !ok {
				t.Fatalf("outputs %v, want logits", keys(out))
			}
			if got.Dtype() != tensor.Float32 || !got.Shape().Eq(want.Shape()) {
				t.Fatalf("logits %v %v, want %v %v", got.Dtype(), got.Shape(), want.Dtype(), want.Shape())
			}
			e, err := relL2(got, want)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("relative L2 error %.3g", e)
			if e >= 1e-5 {
				t.Errorf("relative L2 error %.3g, want < 1e-5", e)
			}
		})
	}
}

// Silero takes a 0-d int64 input (sr), which exercises the scalar path.
func TestSileroScalarInputMatchesCorpusReference(t *testing.T) {
	testenv.ORT(t)
	corpus := testenv.Corpus(t)
	s, err := ortoracle.NewSession(filepath.Join(corpus, "models", "silero_vad_legacy.onnx"), ortoracle.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	dir := filepath.Join(corpus, "calib", "silero_legacy_16k", "sample_000")
	in := map[string]*tensor.Dense{}
	for _, name := range s.InputNames() {
		in[name] = readNPY(t, filepath.Join(dir, name+".npy"))
	}
	if !in["sr"].IsScalar() {
		t.Fatalf("sr has shape %v, want a 0-d array", in["sr"].Shape())
	}
	out, err := s.Run(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range s.OutputNames() {
		want := readNPY(t, filepath.Join(corpus, "reference", "silero_vad_legacy", "sample_000", name+".npy"))
		e, err := relL2(out[name], want)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if e >= 1e-5 {
			t.Errorf("%s: relative L2 error %.3g, want < 1e-5", name, e)
		}
	}
}

func TestRunReportsMissingAndUnknownInputs(t *testing.T) {
	testenv.ORT(t)
	corpus := testenv.Corpus(t)
	model := filepath.Join(corpus, "onnx-node", "test_add_bcast", "model.onnx")
	x := tensor.New(tensor.WithShape(1), tensor.WithBacking([]float32{1}))
	_, err := ortoracle.Run(model, map[string]*tensor.Dense{"x": x, "z": x})
	if err == nil {
		t.Fatal("Run succeeded without input y")
	}
	for _, want := range []string{"missing inputs y", "unknown inputs z"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// ONNX node tests cover the element types: float, double, int32/64, int8,
// uint8, bool inputs and outputs, 0-d outputs (test_size) and 0-d inputs
// (test_range_*).
func TestNodeTestsMatchExpectedOutputs(t *testing.T) {
	testenv.ORT(t)
	corpus := testenv.Corpus(t)
	for _, name := range []string{
		"test_abs", "test_add_bcast", "test_and2d", "test_not_2d", "test_equal", "test_where_example",
		"test_argmax_default_axis_example", "test_cast_FLOAT_to_DOUBLE", "test_mod_int64_fmod",
		"test_size", "test_shape", "test_range_int32_type_negative_delta",
		"test_quantizelinear", "test_dequantizelinear", "test_matmulinteger",
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(corpus, "onnx-node", name)
			inputs := readPBs(t, dir, "input_")
			want := readPBs(t, dir, "output_")
			got, err := ortoracle.Run(filepath.Join(dir, "model.onnx"), inputs)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("outputs %v, want %v", keys(got), keys(want))
			}
			for out, w := range want {
				g, ok := got[out]
				if !ok {
					t.Fatalf("no output %q among %v", out, keys(got))
				}
				if err := sameTensor(g, w); err != nil {
					t.Errorf("output %q: %v", out, err)
				}
			}
		})
	}
}

// readPBs reads test_data_set_0/<prefix>N.pb keyed by tensor name.
func readPBs(t *testing.T, dir, prefix string) map[string]*tensor.Dense {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "test_data_set_0", prefix+"*.pb"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no %s*.pb in %s (%v)", prefix, dir, err)
	}
	out := map[string]*tensor.Dense{}
	for _, f := range files {
		name, d, err := dataset.ReadTensorProto(f)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = d
	}
	return out
}

func keys(m map[string]*tensor.Dense) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
