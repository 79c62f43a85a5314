package ethosu_test

import (
	"os"
	"path/filepath"
	"testing"
	"fmt"

	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/internal/testenv"
)

func TestDump(t *testing.T) {
	name := os.Getenv("DMODEL")
	if name == "" {
		t.Skip()
	}
	corpus := testenv.Corpus(t)
	var m corpusModel
	for _, c := range corpusModels() {
		if c.name == name {
			m = c
		}
	}
	om, _ := loadModel(t, filepath.Join(corpus, "models", name+".onnx"))
	q := ethosu.NewEthosUQuantizer(ethosu.MustCompileSpec("ethos-u85-256"))
	res, err := quantizeModel(t, q, om, samplePaths(t, corpus, m, 0, 1))
	if err != nil { t.Fatal(err) }
	for _, p := range res.Annotation.Points() {
		for _, s := range p.Sites {
			if s.Value.Name == os.Getenv("DVAL") {
				fmt.Printf("point %d spec %s derived %v site %+v consumer %v\n", p.ID, p.Spec.Key(), p.Derived(), s.Kind, s.Consumer)
			}
		}
	}
}
