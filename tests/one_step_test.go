package tests

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// scripts/one-step.sh, which docs/export.md's one-step table comes from,
// moves one element of an inner activation by one step of that tensor's
// own grid: on tinynet its step is the scale the QDQ model quantizes the
// tensor with, its element count the tensor's, and each trial either
// leaves the output alone or moves it by a finite amount.
func TestOneStepScriptMovesOneStepOfTheTensorsGrid(t *testing.T) {
	if _, err := os.Stat(repo(".ort", "node_modules", "onnxruntime-node")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("ONNX Runtime for Node is not installed (scripts/install-ort.sh installs it): %v", err)
		}
		t.Skipf("ONNX Runtime for Node is not installed: %v", err)
	}
	dir := t.TempDir()
	q := filepath.Join(dir, "q.onnx")
	if r := onnxquant(t, "quantize", repo("models", "tinynet.onnx"), "--calib", repo("models", "tinynet_calib"), "-o", q, "-q"); r.code != 0 {
		t.Fatalf("quantize: exit %d\n%s", r.code, r.stderr)
	}
	const tensor = "/features/relu1/Relu_output_0"
	cmd := exec.Command("bash", repo("scripts", "one-step.sh"), q, tensor, repo("models", "tinynet_calib", "sample_000.npy"), "8")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("one-step.sh: %v", err)
	}
	var res struct {
		Elements int     `json:"elements"`
		Step     float64 `json:"step"`
		Results  []struct {
			Element int      `json:"element"`
			SQNR    *float64 `json:"sqnr"`
		} `json:"results"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("one-step.sh output %q: %v", out, err)
	}
	scale, _, _ := quantizeQParams(t, q, tensor)
	if math.Abs(res.Step-float64(scale)) > 1e-6*float64(scale) {
		t.Errorf("step %g, want the tensor's scale %g", res.Step, scale)
	}
	if res.Elements != 8*32*32 {
		t.Errorf("%d elements, want 8192 (relu1 is [1, 8, 32, 32])", res.Elements)
	}
	if len(res.Results) != 8 {
		t.Fatalf("%d trials, want 8", len(res.Results))
	}
	for _, r := range res.Results {
		if r.Element < 0 || r.Element >= res.Elements {
			t.Errorf("element %d out of range", r.Element)
		}
		if r.SQNR != nil && (math.IsNaN(*r.SQNR) || *r.SQNR <= 0) {
			t.Errorf("element %d: SQNR %g, want a positive finite value or null", r.Element, *r.SQNR)
		}
	}
}
