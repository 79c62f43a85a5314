package tests

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/internal/testoracle"
)

// batchDir holds two copies of the example model and a manifest quantizing
// them for two targets, plus a model that is not ONNX.
func batchDir(t *testing.T, withBad bool) (dir, manifest string) {
	t.Helper()
	dir = t.TempDir()
	b, err := os.ReadFile(repo("models", "tinynet.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a.onnx", "b.onnx"} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	calibDir := repo("models", "tinynet_calib")
	text := fmt.Sprintf(`models:
  - model: a.onnx
    calib: %[1]s
    output: out/a_int8.onnx
  - model: b.onnx
    calib: [%[1]s]
    target: ethos-u85-256
    scheme: a16w8
    output: out/b_a16w8.onnx
`, calibDir)
	if withBad {
		if err := os.WriteFile(filepath.Join(dir, "bad.onnx"), []byte("not a model"), 0o644); err != nil {
			t.Fatal(err)
		}
		text += fmt.Sprintf("  - model: bad.onnx\n    calib: %s\n    output: out/bad_int8.onnx\n", calibDir)
	}
	if err := os.Mkdir(filepath.Join(dir, "out"), 0o755); err != nil {
		t.Fatal(err)
	}
	manifest = filepath.Join(dir, "manifest.yaml")
	if err := os.WriteFile(manifest, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, manifest
}

func sha(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", sha256.Sum256(b))
}

func TestBatchFailureOfOneModelLeavesTheOthersAndExitsOne(t *testing.T) {
	dir, manifest := batchDir(t, true)
	r := onnxquant(t, "batch", manifest, "-j", "2")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"FAILED", "bad.onnx", "not an ONNX model", "1 of 3 model(s) failed"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	for _, want := range []string{"3 model(s): 2 ok, 1 failed", "a_int8.onnx", "ethos-u85-256"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, r.stdout)
		}
	}
	for _, out := range []string{"a_int8.onnx", "b_a16w8.onnx"} {
		if _, err := os.Stat(filepath.Join(dir, "out", out)); err != nil {
			t.Errorf("%s: %v", out, err)
		}
	}
	mustNotExist(t, filepath.Join(dir, "out", "bad_int8.onnx"))
	// Each output is what quantize makes from the same settings.
	single := filepath.Join(t.TempDir(), "b.onnx")
	if q := onnxquant(t, "quantize", filepath.Join(dir, "b.onnx"), "--calib", "models/tinynet_calib", "--target", "ethos-u85-256",
		"--scheme", "a16w8", "-o", single, "-q"); q.code != 0 {
		t.Fatalf("quantize: %s", q.stderr)
	}
	if sha(t, single) != sha(t, filepath.Join(dir, "out", "b_a16w8.onnx")) {
		t.Error("batch and quantize give different bytes for the same model and settings")
	}
}

func TestBatchIsDeterministicAcrossRunsAndWorkers(t *testing.T) {
	dir, manifest := batchDir(t, false)
	var sums []string
	for _, jobs := range []string{"1", "2", "1"} {
		if r := onnxquant(t, "batch", manifest, "-j", jobs, "--quiet"); r.code != 0 {
			t.Fatalf("-j %s: exit %d: %s", jobs, r.code, r.stderr)
		}
		sums = append(sums, sha(t, filepath.Join(dir, "out", "a_int8.onnx"))+sha(t, filepath.Join(dir, "out", "b_a16w8.onnx")))
	}
	if sums[0] != sums[1] || sums[0] != sums[2] {
		t.Fatalf("outputs differ across runs or -j: %v", sums)
	}
}

func TestBatchGlobWritesEachModelToTheOutputFolder(t *testing.T) {
	dir, _ := batchDir(t, false)
	outDir := filepath.Join(t.TempDir(), "quantized")
	r := onnxquant(t, "batch", "--glob", filepath.Join(dir, "*.onnx"), "--calib", "models/tinynet_calib", "--out-dir", outDir, "--json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var reps []struct {
		Input, Output, Target string
		Points                int `json:"quantization_points"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &reps); err != nil {
		t.Fatalf("--json output: %v\n%s", err, r.stdout)
	}
	if len(reps) != 2 || reps[0].Output != filepath.Join(outDir, "a_int8.onnx") || reps[1].Output != filepath.Join(outDir, "b_int8.onnx") {
		t.Fatalf("reports %+v", reps)
	}
	for _, rep := range reps {
		if _, err := os.Stat(rep.Output); err != nil || rep.Target != "ethos-u55-128" || rep.Points == 0 {
			t.Errorf("%+v: %v", rep, err)
		}
	}
}

func TestBatchUsageMistakesExitWithTwoBeforeAnyModelRuns(t *testing.T) {
	dir, _ := batchDir(t, false)
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{write("unknown_key.yaml", "models:\n  - model: a.onnx\n    calibration: x\n    output: out/a.onnx\n")}, `unknown key "calibration"`},
		{[]string{write("bad_target.yaml", "- model: a.onnx\n  calib: x\n  output: out/a.onnx\n  target: ethos-u99\n")}, `unknown target "ethos-u99"`},
		{[]string{write("same_output.yaml", "- {model: a.onnx, calib: x, output: out/o.onnx}\n- {model: b.onnx, calib: x, output: out/o.onnx}\n")}, "same output"},
		{[]string{"--glob", filepath.Join(dir, "*.nothing"), "--calib", "x", "--out-dir", dir}, "matches no file"},
		{[]string{}, "expected a manifest or --glob"},
	}
	for _, c := range cases {
		r := onnxquant(t, append([]string{"batch"}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, r.code, r.stderr, c.want)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "out", "*")); len(left) > 0 {
		t.Errorf("usage errors wrote %v", left)
	}
}

func TestEvalReportsOutputsAndWorstLayers(t *testing.T) {
	q := filepath.Join(t.TempDir(), "q.onnx")
	if r := onnxquant(t, "quantize", "models/tinynet.onnx", "--calib", calibSubset(t, 12), "-o", q, "-q"); r.code != 0 {
		t.Fatalf("quantize: %s", r.stderr)
	}
	r := onnxquant(t, "eval", "--float", "models/tinynet.onnx", "--quant", q, "--data", "models/tinynet_calib", "--json")
	if r.code != 0 {
		t.Fatalf("eval: exit %d: %s", r.code, r.stderr)
	}
	var rep struct {
		Samples int
		Outputs []struct {
			Name            string
			SQNR            float64 `json:"sqnr_db"`
			ArgmaxAgreement float64 `json:"argmax_agreement"`
		}
		Layers []struct {
			Name, Module, Kind string
			SQNR               float64 `json:"sqnr_db"`
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if rep.Samples != 16 || len(rep.Outputs) != 1 || rep.Outputs[0].Name != "logits" {
		t.Fatalf("report %+v", rep)
	}
	// The interpreter's output SQNR must match ONNX Runtime's on the same
	// models and samples within rounding.
	if testenv.ORT(t) {
		ortSQNR, ortAgree := accuracy(t, testoracle.ORT, repo("models", "tinynet.onnx"), q, 0, 16)
		t.Logf("eval: %.2f dB, ONNX Runtime: %.2f dB", rep.Outputs[0].SQNR, ortSQNR)
		if abs(rep.Outputs[0].SQNR-ortSQNR) > 0.5 || rep.Outputs[0].ArgmaxAgreement != ortAgree {
			t.Errorf("eval SQNR %.2f dB, agreement %.2f; ONNX Runtime %.2f dB, %.2f", rep.Outputs[0].SQNR, rep.Outputs[0].ArgmaxAgreement, ortSQNR, ortAgree)
		}
	}
	modules := map[string]bool{}
	for i, l := range rep.Layers {
		modules[l.Module] = true
		if i > 0 && l.SQNR < rep.Layers[i-1].SQNR {
			t.Errorf("layers not worst first at %d: %.2f after %.2f", i, l.SQNR, rep.Layers[i-1].SQNR)
		}
	}
	for _, m := range []string{"features.relu1", "features.pool", "features.act2", "avgpool", "classifier.fc"} {
		if !modules[m] {
			t.Errorf("no layer of module %s in %+v", m, rep.Layers)
		}
	}
	text := onnxquant(t, "eval", "--float", "models/tinynet.onnx", "--quant", q, "--data", "models/tinynet_calib", "-q", "--hint-below", "100")
	for _, want := range []string{"output logits: SQNR", "layers, worst first", "hint: module", "a16w8"} {
		if !strings.Contains(text.stdout, want) {
			t.Errorf("text output lacks %q:\n%s", want, text.stdout)
		}
	}
}

func TestQuantizeReportCarriesTheEvaluation(t *testing.T) {
	dir := t.TempDir()
	out, report := filepath.Join(dir, "q.onnx"), filepath.Join(dir, "report.json")
	r := onnxquant(t, "quantize", "models/tinynet.onnx", "--calib", calibSubset(t, 12), "-o", out, "-q",
		"--report", report, "--eval-data", "models/tinynet_calib")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Legality struct{ Target string }
		Timings  map[string]float64 `json:"timings_ms"`
		Eval     struct {
			Samples int
			Layers  []json.RawMessage
		}
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Legality.Target != "ethos-u55-128" || rep.Eval.Samples != 16 || len(rep.Eval.Layers) == 0 || rep.Timings["eval"] <= 0 {
		t.Errorf("report %s", b)
	}
}

func TestEvalFailsClearlyOnBadInput(t *testing.T) {
	r := onnxquant(t, "eval", "--float", "models/tinynet.onnx", "--quant", "/no/such/q.onnx", "--data", "models/tinynet_calib")
	if r.code != 1 || !strings.Contains(r.stderr, "/no/such/q.onnx") {
		t.Errorf("missing model: exit %d, stderr %q", r.code, r.stderr)
	}
	r = onnxquant(t, "eval", "--float", "models/tinynet.onnx", "--data", "models/tinynet_calib")
	if r.code != 2 || !strings.Contains(r.stderr, "quant") {
		t.Errorf("missing --quant: exit %d, stderr %q", r.code, r.stderr)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
