package onnxio_test

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// corpusModels lists every node-test model.onnx and every models/*.onnx.
func corpusModels(t *testing.T) []string {
	t.Helper()
	root := testenv.Corpus(t)
	node, err := filepath.Glob(filepath.Join(root, "onnx-node", "*", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	models, err := filepath.Glob(filepath.Join(root, "models", "*.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	all := append(node, models...)
	sort.Strings(all)
	if len(node) < 900 || len(models) < 8 {
		t.Fatalf("corpus %s looks incomplete: %d node tests, %d models", root, len(node), len(models))
	}
	return all
}

// nodeTestTensor reads onnx-node/<test>/test_data_set_0/<file>.
func nodeTestTensor(t *testing.T, test, file string) *onnxpb.TensorProto {
	t.Helper()
	path := filepath.Join(testenv.Corpus(t), "onnx-node", test, "test_data_set_0", file)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tp := &onnxpb.TensorProto{}
	if err := proto.Unmarshal(b, tp); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return tp
}
