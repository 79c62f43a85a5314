package ethosu_test

import (
	"os"
	"path/filepath"
	"testing"
	"fmt"
	"strings"

	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/lower"
)

func TestDump(t *testing.T) {
	name := os.Getenv("DMODEL")
	if name == "" {
		t.Skip()
	}
	_, gm := loadModel(t, filepath.Join(testenv.Corpus(t), "models", name+".onnx"))
	err := lower.InferShapes(gm, map[string][]int64{"x": {1, 3, 48, 192}})
	q := ethosu.NewEthosUQuantizer(ethosu.MustCompileSpec("ethos-u85-256"))
	q.DumpAfter = os.Getenv("DAFTER")
	q.Log = func(s string) {
		for _, l := range strings.Split(s, "\n") {
			if strings.Contains(l, os.Getenv("DGREP")) { fmt.Println(l) }
		}
	}
	fmt.Println(q.TransformForAnnotation(gm), err)
}
