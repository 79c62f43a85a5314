package calib_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/onnxquant/onnxquant/calib"
	"github.com/onnxquant/onnxquant/calib/sample"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio"
)

func tinynet(t *testing.T) *lower.GraphModule {
	t.Helper()
	m, err := onnxio.Load("../models/tinynet.onnx")
	if err != nil {
		t.Fatal(err)
	}
	gm, err := lower.Lower(m.Proto, m.Dir)
	if err != nil {
		t.Fatal(err)
	}
	return gm
}

// namedList is a sample.List whose samples have names of their own.
type namedList struct{ sample.List }

func (namedList) Name(i int) string { return fmt.Sprintf("frame-%03d", i) }

// Samples an application holds in its own tensors calibrate exactly as the
// same values read from files: the public sample.Source path reaches the
// same observer states, byte for byte.
func TestCalibrateFromMemoryEqualsCalibrateFromFiles(t *testing.T) {
	gm := tinynet(t)
	files, err := calib.OpenSamples(gm, "../models/tinynet_calib")
	if err != nil {
		t.Fatal(err)
	}
	if files.Len() != 16 {
		t.Fatalf("tinynet_calib opens as %d samples, want 16", files.Len())
	}
	var mem sample.List
	for i := range files.Len() {
		smp, err := files.Sample(i)
		if err != nil {
			t.Fatal(err)
		}
		in := smp["input"]
		if len(smp) != 1 || len(in.Float32) != 3*32*32 || fmt.Sprint(in.Shape) != "[1 3 32 32]" || in.Int64 != nil {
			t.Fatalf("sample %d: %d inputs, input shape %v with %d float32 values", i, len(smp), in.Shape, len(in.Float32))
		}
		// A copy, so the file set's buffer reuse cannot alias them.
		mem = append(mem, map[string]sample.Tensor{"input": {Shape: in.Shape, Float32: append([]float32{}, in.Float32...)}})
	}
	reqs := calib.AllActivations(gm)
	a, err := calib.Calibrate(t.Context(), gm, files, reqs, calib.Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	b, err := calib.Calibrate(t.Context(), gm, mem, reqs, calib.Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if a.Samples != 16 || b.Samples != 16 {
		t.Errorf("samples %d from files, %d from memory, want 16", a.Samples, b.Samples)
	}
	if ja, jb := statsJSON(t, a), statsJSON(t, b); !bytes.Equal(ja, jb) {
		t.Errorf("stats differ between files and memory:\n%s\n%s", ja, jb)
	}
}

// A sample of the wrong shape from memory is a *sample.Error that names
// the sample (by the source's Namer) and the input, like a file's.
func TestInMemorySampleOfTheWrongShapeNamesIt(t *testing.T) {
	gm := tinynet(t)
	good := map[string]sample.Tensor{"input": {Shape: []int{1, 3, 32, 32}, Float32: make([]float32, 3*32*32)}}
	bad := map[string]sample.Tensor{"input": {Shape: []int{1, 3, 16, 16}, Float32: make([]float32, 3*16*16)}}
	for _, c := range []struct {
		src  sample.Source
		name string
	}{
		{sample.List{good, bad}, "sample 1"},
		{namedList{sample.List{good, good, bad}}, "frame-002"},
	} {
		_, err := calib.Calibrate(t.Context(), gm, c.src, calib.AllActivations(gm), calib.Options{})
		var se *sample.Error
		if !errors.As(err, &se) || !errors.Is(err, sample.ErrShapeMismatch) {
			t.Fatalf("err %v (%T), want a *sample.Error wrapping ErrShapeMismatch", err, err)
		}
		if se.Sample != c.name || se.Input != "input" {
			t.Errorf("error names sample %q input %q, want %q and \"input\": %v", se.Sample, se.Input, c.name, err)
		}
	}
}
