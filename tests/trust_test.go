package tests

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/calib/dataset"
	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// The cases of issue 13's first "Why" bullet: common mistakes that gave a
// wrong model with exit 0. Each now gives an error or a visible, documented
// behaviour, and a failure leaves no output.

// dynamicTinynet writes the example model with its input declared
// [batch, 3, height, width] (its GlobalAveragePool takes any size).
func dynamicTinynet(t *testing.T, dir string) string {
	t.Helper()
	m, err := onnxio.Load(repo("models", "tinynet.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	dims := m.Proto.Graph.Input[0].Type.GetTensorType().Shape.Dim
	for i, name := range []string{"batch", "", "height", "width"} {
		if name != "" {
			dims[i].Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: name}
		}
	}
	out := m.Proto.Graph.Output[0].Type.GetTensorType().Shape.Dim
	out[0].Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "batch"}
	path := filepath.Join(dir, "tinynet_dynamic.onnx")
	if err := (&onnxio.Model{Proto: m.Proto}).Save(path, onnxio.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	return path
}

// inputDims returns the declared dims of a model's first input.
func inputDims(t *testing.T, path string) []int64 {
	t.Helper()
	m, err := onnxio.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var dims []int64
	for _, d := range m.Proto.Graph.Input[0].Type.GetTensorType().Shape.Dim {
		dims = append(dims, d.GetDimValue())
	}
	return dims
}

// stackExamples writes the first n example samples stacked into one
// [n,3,32,32] .npy file.
func stackExamples(t *testing.T, dir string, n int) string {
	t.Helper()
	var all []float32
	for i := range n {
		d, err := dataset.ReadNPY(exampleName(i))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, d.Data().([]float32)...)
	}
	path := filepath.Join(dir, "stacked.npy")
	if err := dataset.WriteNPY(path, tensor.New(tensor.WithShape(n, 3, 32, 32), tensor.WithBacking(all))); err != nil {
		t.Fatal(err)
	}
	return path
}

func exampleName(i int) string {
	return repo("models", "tinynet_calib", fmt.Sprintf("sample_%03d.npy", i))
}

func TestDynamicInputSizesAreBoundVisiblyAndInputShapeFixesThem(t *testing.T) {
	dir := t.TempDir()
	model := dynamicTinynet(t, dir)
	// Samples of another size than the example's 32x32, as a user might
	// feed a detector's 224x224 crops to a 48x192 classifier.
	other := writeSamples(t, 4, []int{1, 3, 24, 40}, func(i, j int) float32 { return float32((i*7+j)%11) / 11 })

	out := filepath.Join(dir, "bound.onnx")
	r := onnxquant(t, "quantize", model, "--calib", other, "-o", out)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if want := `input "input": the model declares [batch 3 height width]; the calibration data binds it to [1 3 24 40] (fix it with --input-shape input=1,3,24,40)`; !strings.Contains(r.stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
	}
	if got := inputDims(t, out); !slices.Equal(got, []int64{1, 3, 24, 40}) {
		t.Errorf("output input dims %v, want the bound [1 3 24 40]", got)
	}

	// --input-shape fixes the size; samples of another size are an error.
	out = filepath.Join(dir, "fixed.onnx")
	r = onnxquant(t, "quantize", model, "--calib", other, "-o", out, "--input-shape", "input=1,3,48,192")
	if r.code != 1 || !strings.Contains(r.stderr, "sample_a.npy") || !strings.Contains(r.stderr, "shape [1 3 24 40] does not match the model's [1 3 48 192]") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	mustNotExist(t, out)
	// ... and matching samples give exactly that shape.
	r = onnxquant(t, "quantize", model, "--calib", "models/tinynet_calib", "-o", out, "--input-shape", "input=1,3,32,32", "-q")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if got := inputDims(t, out); !slices.Equal(got, []int64{1, 3, 32, 32}) {
		t.Errorf("output input dims %v", got)
	}
	// A shape the model contradicts is a usage error.
	bad := filepath.Join(dir, "bad.onnx")
	r = onnxquant(t, "quantize", model, "--calib", other, "-o", bad, "--input-shape", "input=1,4,32,32")
	if r.code != 2 || !strings.Contains(r.stderr, "dimension 1 is 4, but the model fixes it at 3") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	mustNotExist(t, bad)
}

func TestSamplesOfDifferentShapesAreAnError(t *testing.T) {
	dir := t.TempDir()
	model := dynamicTinynet(t, dir)
	mixed := writeSamples(t, 2, []int{1, 3, 32, 32}, func(i, j int) float32 { return float32(j%5) / 5 })
	small := writeSamples(t, 1, []int{1, 3, 16, 16}, func(i, j int) float32 { return 0.5 })
	if err := os.Rename(filepath.Join(small, "sample_a.npy"), filepath.Join(mixed, "sample_c.npy")); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "q.onnx")
	failsCleanly(t, 1, out, []string{"sample_c.npy", "shape [1 3 16 16] differs from the [1 3 32 32] of the first sample", "--input-shape input="},
		model, "--calib", mixed, "-o", out)
}

func TestStackedSampleFileIsSplitAlongTheBatch(t *testing.T) {
	dir := t.TempDir()
	stacked := stackExamples(t, dir, 16)
	for _, model := range []string{repo("models", "tinynet.onnx"), dynamicTinynet(t, dir)} {
		out := filepath.Join(dir, "q.onnx")
		r := onnxquant(t, "quantize", model, "--calib", stacked, "-o", out)
		if r.code != 0 {
			t.Fatalf("%s: exit %d: %s", model, r.code, r.stderr)
		}
		if !strings.Contains(r.stdout, "16 calibration samples") {
			t.Errorf("%s: stdout %q does not count 16 samples", model, r.stdout)
		}
		if want := "stacks 16 samples along its batch axis: split into 16 samples of batch 1"; !strings.Contains(r.stderr, want) {
			t.Errorf("%s: stderr lacks %q:\n%s", model, want, r.stderr)
		}
		if got := inputDims(t, out); !slices.Equal(got, []int64{1, 3, 32, 32}) {
			t.Errorf("%s: output input dims %v, want batch 1", model, got)
		}
	}
	// The same samples as separate files give the same model.
	a, b := filepath.Join(dir, "a.onnx"), filepath.Join(dir, "b.onnx")
	if r := onnxquant(t, "quantize", "models/tinynet.onnx", "--calib", stacked, "-o", a, "-q"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := onnxquant(t, "quantize", "models/tinynet.onnx", "--calib", "models/tinynet_calib", "-o", b, "-q"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if sha(t, a) != sha(t, b) {
		t.Errorf("a stacked file and its samples as files give different models")
	}
}

func TestAlreadyQuantizedModelIsRefusedUnlessQAT(t *testing.T) {
	dir := t.TempDir()
	q := filepath.Join(dir, "q.onnx")
	if r := onnxquant(t, "quantize", "models/tinynet.onnx", "--calib", "models/tinynet_calib", "-o", q, "-q"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	out := filepath.Join(dir, "qq.onnx")
	failsCleanly(t, 1, out, []string{q, "is quantized already", "QuantizeLinear/DequantizeLinear", "--qat"},
		q, "--calib", "models/tinynet_calib", "-o", out)
}

func TestSchemeFlagAndConfigGlobalMustAgree(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "cfg.yaml")
	if err := os.WriteFile(cfg, []byte("global: a16w8\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "q.onnx")
	failsCleanly(t, 2, out, []string{"scheme int8", cfg, "global: a16w8", "disagree"},
		"models/tinynet.onnx", "--calib", "models/tinynet_calib", "-o", out, "--scheme", "int8", "--config", cfg)
	// The config alone decides, and the report records what ran.
	report := filepath.Join(dir, "r.json")
	if r := onnxquant(t, "quantize", "models/tinynet.onnx", "--calib", "models/tinynet_calib", "-o", out, "--config", cfg, "--report", report, "-q"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct{ Scheme string }
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Scheme != "a16w8" {
		t.Errorf("report scheme %q, want the config's a16w8", rep.Scheme)
	}
	assertQDQDtypes(t, out, "a16w8")
	// Agreeing is fine.
	if r := onnxquant(t, "quantize", "models/tinynet.onnx", "--calib", "models/tinynet_calib", "-o", out, "--config", cfg, "--scheme", "16x8", "-q"); r.code != 0 {
		t.Errorf("agreeing flag and config: exit %d: %s", r.code, r.stderr)
	}
}

func TestEvalWritesTheLayerTableAsCSVAndReportsAre0644(t *testing.T) {
	dir := t.TempDir()
	q := filepath.Join(dir, "q.onnx")
	report := filepath.Join(dir, "r.json")
	if r := onnxquant(t, "quantize", "models/tinynet.onnx", "--calib", "models/tinynet_calib", "-o", q, "--report", report, "-q"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	for _, p := range []string{q, report} {
		if info, err := os.Stat(p); err != nil || info.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v, want 0644 (%v)", p, info.Mode().Perm(), err)
		}
	}
	table := filepath.Join(dir, "layers.csv")
	r := onnxquant(t, "eval", "--float", "models/tinynet.onnx", "--quant", q, "--data", "models/tinynet_calib", "--json", "--csv", table, "-q")
	if r.code != 0 {
		t.Fatal(r.stderr)
	}
	var rep struct {
		Layers []struct {
			Name string  `json:"name"`
			SQNR float64 `json:"sqnr_db"`
		} `json:"layers"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(table)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(rep.Layers)+1 || strings.Join(rows[0], ",") != "tensor,submodule,module,kind,bits,sqnr_db,sqnr_infinite,max_abs_error,count" {
		t.Fatalf("%d rows for %d layers, header %v", len(rows), len(rep.Layers), rows[0])
	}
	for i, l := range rep.Layers {
		if rows[i+1][0] != l.Name || rows[i+1][5] != strconv.FormatFloat(l.SQNR, 'f', -1, 64) {
			t.Errorf("row %d %v, JSON layer %+v", i+1, rows[i+1], l)
		}
	}
}
