package tests

import (
	"github.com/onnxquant/onnxquant/internal/testenv"
)

// corpusModels maps the corpus models these tests run to their calibration
// folders: silero has one folder per code path.
func corpusModels() map[string][]string {
	out := map[string][]string{}
	for _, m := range testenv.BaseCorpusModels() {
		out[m] = testenv.CalibSets(m)
	}
	return out
}
