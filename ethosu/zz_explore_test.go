package ethosu_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/qpass"
)

func TestExplore(t *testing.T) {
	name := os.Getenv("XMODEL")
	if name == "" {
		t.Skip()
	}
	corpus := testenv.Corpus(t)
	for _, m := range corpusModels() {
		if name != "all" && m.name != name {
			continue
		}
		om, _ := loadModel(t, filepath.Join(corpus, "models", m.name+".onnx"))
		q := ethosu.NewEthosUQuantizer(ethosu.MustCompileSpec(os.Getenv("XTARGET")))
		if os.Getenv("XSCHEME") == "a16w8" {
			q.SetGlobal(qpass.SymmetricA16W8(true, false))
		}
		start := time.Now()
		res, err := quantizeModel(t, q, om, samplePaths(t, corpus, m, 0, 2))
		t.Logf("%s took %v", m.name, time.Since(start))
		if res != nil {
			t.Logf("timings %v", res.Timings)
		}
		if err != nil {
			t.Errorf("%s: %v", m.name, err)
			continue
		}
		os.WriteFile("/tmp/x_"+m.name+".onnx", marshal(t, res.Model), 0o644)
	}
}
