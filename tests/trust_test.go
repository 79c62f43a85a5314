package tests

import (
	"crypto/sha256"
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

	oq "github.com/onnxquant/onnxquant"
	"github.com/onnxquant/onnxquant/internal/dataset"
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

func TestConfigEntryThatMatchesNothingIsAnErrorWithNearMatches(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "cfg.yaml")
	if err := os.WriteFile(cfg, []byte("module_name:\n  feature.act2: a16w8\nnode_name:\n  /Flaten: none\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "q.onnx")
	failsCleanly(t, 2, out, []string{`module_name "feature.act2" matches no module of the model (did you mean "features.act2"?)`,
		`node_name "/Flaten" matches no node of the model (did you mean "/Flatten"?)`},
		"models/tinynet.onnx", "--calib", "models/tinynet_calib", "-o", out, "--config", cfg)
}

func TestShowConfigPrintsEveryNodeWithTheEntryThatChoseIt(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "cfg.yaml")
	if err := os.WriteFile(cfg, []byte("node_name:\n  /features/conv2/*: a16w8\nmodule_name:\n  features: a16w8\n  features.relu1: int8\nmodule_type:\n  Gemm: none\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := onnxquant(t, "quantize", "models/tinynet.onnx", "--show-config", "--config", cfg)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 10 { // header and 9 nodes
		t.Fatalf("%d lines:\n%s", len(lines), r.stdout)
	}
	for _, want := range [][]string{
		{"/features/conv2/Conv", "Conv", "features.conv2", "a16w8", "node_name /features/conv2/*"},
		{"/features/relu1/Relu", "Relu", "features.relu1", "int8", "module_name features.relu1"},
		{"/features/act2/Clip", "Clip", "features.act2", "a16w8", "module_name features"},
		{"/classifier/fc/Gemm", "Gemm", "classifier.fc", "none", "module_type Gemm"},
		{"/Flatten", "Flatten", "-", "int8", "global"},
	} {
		found := false
		for _, l := range lines {
			f := strings.Fields(l)
			found = found || strings.Join(f, " ") == strings.Join(want, " ")
		}
		if !found {
			t.Errorf("no line %q in\n%s", strings.Join(want, " "), r.stdout)
		}
	}
}

func TestOutputRecordsProvenanceAndCheckUsesIt(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "q.onnx")
	if r := onnxquant(t, "quantize", "models/tinynet.onnx", "--calib", "models/tinynet_calib", "-o", out, "--target", "ethos-u85-256", "--scheme", "a16w8", "-q"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	m, err := onnxio.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if m.Proto.GetProducerName() != "onnxquant" || m.Proto.GetProducerVersion() != oq.Version {
		t.Errorf("producer %q %q", m.Proto.GetProducerName(), m.Proto.GetProducerVersion())
	}
	meta := map[string]string{}
	for _, e := range m.Proto.MetadataProps {
		meta[e.GetKey()] = e.GetValue()
	}
	src, err := os.ReadFile(repo("models", "tinynet.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"onnxquant.target": "ethos-u85-256", "onnxquant.scheme": "a16w8", "onnxquant.calibration_samples": "16",
		"onnxquant.qat": "false", "onnxquant.observers": "histogram", "onnxquant.input_shapes": "input=1,3,32,32",
		"onnxquant.source_sha256":   fmt.Sprintf("%x", sha256.Sum256(src)),
		"onnxquant.source_producer": "onnxquant models/gen",
	} {
		if meta[k] != want {
			t.Errorf("metadata %s = %q, want %q", k, meta[k], want)
		}
	}
	if !strings.Contains(meta["onnxquant.stages"], "calibrate") {
		t.Errorf("stages %q", meta["onnxquant.stages"])
	}
	// Every value a node makes is declared, with its shape.
	declared := map[string]bool{}
	for _, vi := range m.Proto.Graph.ValueInfo {
		if vi.GetType().GetTensorType().GetShape() != nil {
			declared[vi.GetName()] = true
		}
	}
	for _, o := range m.Proto.Graph.Output {
		declared[o.GetName()] = true
	}
	for _, n := range m.Proto.Graph.Node {
		for _, o := range n.Output {
			if !declared[o] {
				t.Errorf("node %q: output %q has no value_info", n.GetName(), o)
			}
		}
	}
	// check judges it for the recorded target without --target.
	r := onnxquant(t, "check", out)
	if r.code != 0 || !strings.Contains(r.stdout, "legal for ethos-u85-256") {
		t.Errorf("check: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// inspect shows the metadata.
	r = onnxquant(t, "inspect", out)
	if !strings.Contains(r.stdout, "metadata   onnxquant.target = ethos-u85-256") {
		t.Errorf("inspect:\n%s", r.stdout)
	}
	// Deterministic: the same inputs give the same bytes.
	again := filepath.Join(dir, "again.onnx")
	if r := onnxquant(t, "quantize", "models/tinynet.onnx", "--calib", "models/tinynet_calib", "-o", again, "--target", "ethos-u85-256", "--scheme", "a16w8", "-q"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if sha(t, out) != sha(t, again) {
		t.Error("two runs differ")
	}
}

func TestCheckOnAFloatModelSaysNotQuantizedYet(t *testing.T) {
	r := onnxquant(t, "check", "models/tinynet.onnx")
	if r.code != 1 {
		t.Fatalf("exit %d", r.code)
	}
	for _, want := range []string{"records no target", "checking for ethos-u55-128", "is not quantized yet", "pass ethos-u55-128's pre-check"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	// quantize folds BatchNormalization, so check does not call it
	// unsupported.
	if strings.Contains(r.stderr, "BatchNormalization") {
		t.Errorf("stderr names BatchNormalization:\n%s", r.stderr)
	}
	// An operator the target can never run is named.
	dir := t.TempDir()
	model := unsupportedModel(t, dir, false)
	r = onnxquant(t, "check", model, "--target", "ethos-u55-128")
	if r.code != 1 || !strings.Contains(r.stderr, "is not quantized yet, and") || !strings.Contains(r.stderr, "TopK") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

func TestEvalRefusesAFloatModelThatIsNotTheSource(t *testing.T) {
	dir := t.TempDir()
	q := filepath.Join(dir, "q.onnx")
	if r := onnxquant(t, "quantize", "models/tinynet.onnx", "--calib", "models/tinynet_calib", "-o", q, "-q"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	// Same inputs and outputs, other bytes: not the source.
	other := dynamicTinynet(t, dir)
	r := onnxquant(t, "eval", "--float", other, "--quant", q, "--data", "models/tinynet_calib", "-q")
	if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "was quantized from a model whose SHA-256 is") || !strings.Contains(r.stderr, other) {
		t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// --any-source accepts an export of the same graph...
	if r := onnxquant(t, "eval", "--float", other, "--quant", q, "--data", "models/tinynet_calib", "-q", "--any-source"); r.code != 0 {
		t.Errorf("--any-source: exit %d: %s", r.code, r.stderr)
	}
	// ... but never graphs that do not correspond.
	unrelated := unsupportedModel(t, dir, false)
	r = onnxquant(t, "eval", "--float", unrelated, "--quant", q, "--data", "models/tinynet_calib", "-q", "--any-source")
	if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "the graphs do not correspond") {
		t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// The README's config example, io: uint8, gives a legal model whose graph
// inputs and outputs keep their names and are quantized to uint8.
func TestUint8IOConfigGivesALegalModel(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "cfg.yaml")
	if err := os.WriteFile(cfg, []byte("global: int8\nio: uint8\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "q.onnx")
	if r := onnxquant(t, "quantize", "models/tinynet.onnx", "--calib", "models/tinynet_calib", "-o", out, "--config", cfg, "-q"); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if r := onnxquant(t, "check", out); r.code != 0 {
		t.Errorf("check: exit %d: %s", r.code, r.stderr)
	}
	m, err := onnxio.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	g := m.Proto.Graph
	if g.Input[0].GetName() != "input" || g.Output[0].GetName() != "logits" {
		t.Fatalf("inputs/outputs renamed: %s -> %s", g.Input[0].GetName(), g.Output[0].GetName())
	}
	uint8Zero := map[string]bool{}
	for _, init := range g.Initializer {
		if init.GetDataType() == int32(onnxpb.TensorProto_UINT8) {
			uint8Zero[init.GetName()] = true
		}
	}
	var atInput, atOutput bool
	for _, n := range g.Node {
		if n.GetOpType() == "QuantizeLinear" && n.Input[0] == "input" && uint8Zero[n.Input[2]] {
			atInput = true
		}
		if n.GetOpType() == "DequantizeLinear" && n.Output[0] == "logits" && uint8Zero[n.Input[2]] {
			atOutput = true
		}
	}
	if !atInput || !atOutput {
		t.Errorf("uint8 pair at the input %v, at the output %v", atInput, atOutput)
	}
	// And it still computes what the float model does.
	r := onnxquant(t, "eval", "--float", "models/tinynet.onnx", "--quant", out, "--data", "models/tinynet_calib", "--json", "-q")
	var rep struct {
		Outputs []struct {
			SQNR float64 `json:"sqnr_db"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || len(rep.Outputs) != 1 {
		t.Fatalf("eval: %v %s %s", err, r.stdout, r.stderr)
	}
	if rep.Outputs[0].SQNR < 25 {
		t.Errorf("output SQNR %.1f dB with uint8 IO", rep.Outputs[0].SQNR)
	}
}

func TestEvalSplitsAStackedFileLikeQuantize(t *testing.T) {
	dir := t.TempDir()
	stacked := stackExamples(t, dir, 16)
	q := filepath.Join(dir, "q.onnx")
	if r := onnxquant(t, "quantize", "models/tinynet.onnx", "--calib", stacked, "-o", q, "-q"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	r := onnxquant(t, "eval", "--float", "models/tinynet.onnx", "--quant", q, "--data", stacked, "-q")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "16 samples\n") {
		t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestCheckBindsADynamicFloatModelFromSamplesAsQuantizeDoes(t *testing.T) {
	model := dynamicTinynet(t, t.TempDir())
	// Without samples its sizes stay unknown, BatchNormalization is not
	// folded, and check says how to do better.
	r := onnxquant(t, "check", model, "--target", "ethos-u55-128")
	if r.code != 1 || !strings.Contains(r.stderr, "give --calib to bind them") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	r = onnxquant(t, "check", model, "--target", "ethos-u55-128", "--calib", "models/tinynet_calib")
	if r.code != 1 || !strings.Contains(r.stderr, "its operators pass ethos-u55-128's pre-check") {
		t.Errorf("with --calib: exit %d, stderr:\n%s", r.code, r.stderr)
	}
}
