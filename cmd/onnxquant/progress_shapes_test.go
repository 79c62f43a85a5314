package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// dynamicTinynet writes the example model with its batch, height and
// width made dynamic, so quantize sizes it from the samples.
func dynamicTinynet(t *testing.T, dir string) string {
	t.Helper()
	m, err := onnxio.Load("../../models/tinynet.onnx")
	if err != nil {
		t.Fatal(err)
	}
	dims := m.Proto.Graph.Input[0].Type.GetTensorType().Shape.Dim
	for i, name := range []string{"batch", "", "height", "width"} {
		if name != "" {
			dims[i].Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: name}
		}
	}
	m.Proto.Graph.Output[0].Type.GetTensorType().Shape.Dim[0].Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "batch"}
	path := filepath.Join(dir, "tinynet_dynamic.onnx")
	if err := (&onnxio.Model{Proto: m.Proto}).Save(path, onnxio.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	return path
}

// quantizeWithClock quantizes the dynamic example model on 16 samples with
// one worker, its progress drawn on a terminal or not, on a clock that
// advances one second per reading.
func quantizeWithClock(t *testing.T, tty bool) string {
	t.Helper()
	dir := t.TempDir()
	var buf bytes.Buffer
	clock := &fakeClock{t: time.Unix(0, 0), step: time.Second}
	job := quantizeJob{In: dynamicTinynet(t, dir), Out: filepath.Join(dir, "q.onnx"), Calib: []string{"../../models/tinynet_calib"},
		Target: "ethos-u55-128", Scheme: "int8", Workers: 1}
	job.reportProgress(&progress{w: &buf, tty: tty, now: clock.now})
	if _, err := quantizeToFile(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// bind-shapes is counted like calibrate. Every progress callback reads the
// clock once, so the 16-sample phase (its start and 16 samples) spans 16 s.
func TestQuantizeCountsBindShapesInALog(t *testing.T) {
	log := quantizeWithClock(t, false)
	m := regexp.MustCompile(`^bind-shapes: 16/16 samples in 16\.0s \(1\.0 samples/s\)\n` +
		`calibrate: 16/16 samples in \S+ \(\S+ samples/s\)\n` +
		`quantize: (\d+)/(\d+) stages in \S+ \(\S+ stages/s\)\n$`).FindStringSubmatch(log)
	if m == nil || m[1] != m[2] {
		t.Fatalf("log:\n%s", log)
	}
}

func TestQuantizeCountsBindShapesOnATerminal(t *testing.T) {
	tty := quantizeWithClock(t, true)
	for _, want := range []string{
		"\r\033[Kbind-shapes 0/16 samples   0.0%",
		"\r\033[Kbind-shapes 8/16 samples  50.0% 1.0 samples/s, 8.0s left",
		"\r\033[Kbind-shapes 16/16 samples 100.0% in 16.0s (1.0 samples/s)\n",
		"after bind-shapes",
	} {
		if !strings.Contains(tty, want) {
			t.Errorf("terminal transcript lacks %q:\n%q", want, tty)
		}
	}
	if i, j := strings.Index(tty, "bind-shapes 16/16"), strings.Index(tty, "calibrate 0/16"); i < 0 || j < i {
		t.Errorf("bind-shapes does not end before calibrate starts:\n%q", tty)
	}
	// The held-out calibration runs two halves of 8; the second half's
	// start is not a second "8/16" drawing.
	if n := strings.Count(tty, "calibrate 8/16 "); n != 1 {
		t.Errorf("calibrate 8/16 drawn %d times:\n%q", n, tty)
	}
	if strings.Contains(tty, "bind-shapes:") {
		t.Errorf("log-style line on a terminal:\n%q", tty)
	}
}
