package main

import (
	"reflect"
	"testing"
)

func TestParseInputShapes(t *testing.T) {
	got, err := parseInputShapes([]string{"x=1,3,48,192", "y:0=1x16"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]int64{"x": {1, 3, 48, 192}, "y:0": {1, 16}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for _, bad := range [][]string{{"x"}, {"x="}, {"=1,2"}, {"x=1,0"}, {"x=1,a"}, {"x=1", "x=2"}} {
		if _, err := parseInputShapes(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	code, _, stderr := runCLI(t, "quantize", "m.onnx", "-o", "q.onnx", "--calib", "d", "--input-shape", "x=1,-3")
	if code != exitUsage {
		t.Errorf("exit %d: %s", code, stderr)
	}
}
