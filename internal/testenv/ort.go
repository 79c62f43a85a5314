package testenv

import (
	"testing"

	"github.com/onnxquant/onnxquant/internal/ortoracle/ortlib"
)

// ORT returns the path of the ONNX Runtime library the oracle loads
// (internal/ortoracle). When it is not installed the test is skipped, except
// under CI=true, where scripts/test.sh installs it and its absence is a
// failure.
func ORT(t testing.TB) string {
	t.Helper()
	path, err := ortlib.Path()
	if err != nil {
		missing(t, err.Error())
		return ""
	}
	return path
}
