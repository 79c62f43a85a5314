package tests

import (
	"bytes"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Sizing a model with dynamic inputs from the samples (bind-shapes) is a
// counted phase like calibrate: on a terminal its line starts at 0% and is
// redrawn up to its count, time and rate; in a log it is one line, before
// calibrate's. A model with static inputs has no such phase.
func TestProgressCountsBindShapesOnATerminalAndInALog(t *testing.T) {
	dir := t.TempDir()
	model := dynamicTinynet(t, dir)
	args := []string{"quantize", model, "--calib", "models/tinynet_calib", "-o", filepath.Join(dir, "q.onnx")}

	controller, terminal := openPTY(t)
	cmd := exec.Command(binary, args...)
	cmd.Dir = repo()
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, terminal
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	terminal.Close()
	var drawn bytes.Buffer
	io.Copy(&drawn, controller) // ends with EIO when the program exits
	controller.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v: %s", err, drawn.String())
	}
	tty := drawn.String()
	start := "\r\x1b[Kbind-shapes 0/16 samples   0.0%"
	end := regexp.MustCompile(`\r\x1b\[Kbind-shapes 16/16 samples 100\.0% in \d+(ms|\.\ds) \(\d+ samples/s\)\r\n`)
	if !strings.Contains(tty, start) || !end.MatchString(tty) {
		t.Errorf("terminal transcript lacks bind-shapes' start or end:\n%q", tty)
	}
	if i, j := strings.Index(tty, start), strings.Index(tty, "calibrate 0/16"); i < 0 || j < i {
		t.Errorf("bind-shapes does not come before calibrate:\n%q", tty)
	}

	r := onnxquant(t, args...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := regexp.MustCompile(`(?m)^bind-shapes: 16/16 samples in \S+ \(\d+ samples/s\)\ncalibrate: 16/16 samples in `)
	if !lines.MatchString(r.stderr) || strings.ContainsAny(r.stderr, "\r\x1b") {
		t.Errorf("log transcript:\n%q", r.stderr)
	}
	// tinynet's inputs are static: nothing to size from the samples.
	if r := onnxquant(t, "quantize", "models/tinynet.onnx", "--calib", "models/tinynet_calib", "-o", filepath.Join(dir, "s.onnx")); r.code != 0 || strings.Contains(r.stderr, "bind-shapes") {
		t.Errorf("static model: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := onnxquant(t, append(args, "-q")...); r.code != 0 || r.stderr != "" {
		t.Errorf("--quiet: exit %d, stderr %q", r.code, r.stderr)
	}
}
