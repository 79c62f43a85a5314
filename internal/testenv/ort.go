package testenv

import (
	"testing"

	"github.com/onnxquant/onnxquant/internal/ortoracle"
	"github.com/onnxquant/onnxquant/internal/ortoracle/ortlib"
)

// ORT reports whether the test should compare against ONNX Runtime
// (internal/ortoracle). A test calls it right before its ONNX Runtime
// comparison, after every check that does not need the oracle, so that those
// checks run on a bare Go install too.
//
// Built without the "ort" tag it logs that the comparison is left out and
// returns false. Built with the tag, a missing library skips the test, except
// under CI=true, where scripts/test.sh installs it and its absence is a
// failure.
func ORT(t testing.TB) bool {
	t.Helper()
	if !ortoracle.Enabled {
		t.Log("ONNX Runtime comparison left out: built without -tags ort")
		return false
	}
	if _, err := ortlib.Path(); err != nil {
		missing(t, err.Error())
		return false
	}
	return true
}
