package ethosu_test

import (
	"os"
	"path/filepath"
	"testing"
	"fmt"

	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/qpass"
)

func TestDump(t *testing.T) {
	name := os.Getenv("DMODEL")
	if name == "" {
		t.Skip()
	}
	_, gm := loadModel(t, filepath.Join(testenv.Corpus(t), "models", name+".onnx"))
	fmt.Println(qpass.Dump(gm))
}
