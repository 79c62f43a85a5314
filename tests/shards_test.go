package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The scale-out path README documents: each shard of the data calibrated
// by its own process (xargs -P here; a Kubernetes Indexed Job or a Slurm
// array in the README), the stats merged, and the model quantized from
// them without the samples: byte for byte the model of one run over all
// of the data.
func TestShardProcessesMergeAndQuantizeFromStatsGiveTheSameModel(t *testing.T) {
	dir := t.TempDir()
	for i := range 16 {
		shard := filepath.Join(dir, fmt.Sprintf("shard%d", i%2))
		if err := os.MkdirAll(shard, 0o755); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(exampleName(i))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(shard, filepath.Base(exampleName(i))), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	script := `printf 'shard0\nshard1\n' | xargs -P 2 -I{} "$ONNXQUANT" calibrate "$MODEL" --calib "$DIR/{}" -o "$DIR/{}.json" --shard --target ethos-u85-256 -q`
	cmd := exec.Command("bash", "-c", script)
	cmd.Env = append(os.Environ(), "ONNXQUANT="+binary, "MODEL="+repo("models", "tinynet.onnx"), "DIR="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("shards: %v\n%s", err, out)
	}
	p := func(name string) string { return filepath.Join(dir, name) }
	if r := onnxquant(t, "calibrate", "--merge", p("shard0.json"), p("shard1.json"), "-o", p("merged.json"), "-q"); r.code != 0 {
		t.Fatalf("merge: %s", r.stderr)
	}
	r := onnxquant(t, "quantize", "models/tinynet.onnx", "--stats", p("merged.json"), "-o", p("from_stats.onnx"), "--target", "ethos-u85-256")
	if r.code != 0 {
		t.Fatalf("quantize --stats: %s", r.stderr)
	}
	if !strings.Contains(r.stdout, "16 calibration samples") {
		t.Errorf("stdout %q", r.stdout)
	}
	if r := onnxquant(t, "quantize", "models/tinynet.onnx", "--calib", "models/tinynet_calib", "-o", p("one_run.onnx"), "--target", "ethos-u85-256", "--observer", "histogram", "-q"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if sha(t, p("from_stats.onnx")) != sha(t, p("one_run.onnx")) {
		t.Error("quantizing from merged shard stats differs from one run over all of the data")
	}

	// Stats are tied to what they were made for.
	out := p("wrong.onnx")
	failsCleanly(t, 1, out, []string{"the stats were made for onnxquant.target \"ethos-u85-256\", not \"ethos-u55-128\""},
		"models/tinynet.onnx", "--stats", p("merged.json"), "-o", out)
	failsCleanly(t, 1, out, []string{"the stats were made for onnxquant.source_sha256"},
		dynamicTinynet(t, dir), "--stats", p("merged.json"), "-o", out, "--target", "ethos-u85-256")
	failsCleanly(t, 2, out, []string{"--calib samples or --stats"},
		"models/tinynet.onnx", "--stats", p("merged.json"), "--calib", "models/tinynet_calib", "-o", out)
	// Methods that need the samples themselves say so.
	failsCleanly(t, 2, out, []string{"--observer auto", "--calib"},
		"models/tinynet.onnx", "--stats", p("merged.json"), "-o", out, "--target", "ethos-u85-256", "--observer", "auto")
	failsCleanly(t, 2, out, []string{"--bias-correction", "--calib"},
		"models/tinynet.onnx", "--stats", p("merged.json"), "-o", out, "--target", "ethos-u85-256", "--bias-correction")
	// Shards made for different targets do not merge.
	if r := onnxquant(t, "calibrate", "models/tinynet.onnx", "--calib", p("shard1"), "-o", p("u55.json"), "--shard", "-q"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	r = onnxquant(t, "calibrate", "--merge", p("shard0.json"), p("u55.json"), "-o", p("bad.json"))
	if r.code != 1 || !strings.Contains(r.stderr, "onnxquant.target") {
		t.Errorf("merge across targets: exit %d, stderr %q", r.code, r.stderr)
	}
	mustNotExist(t, p("bad.json"))
}
