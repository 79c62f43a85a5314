package onnxdense_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

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

// wantMention fails unless err mentions every part.
func wantMention(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one mentioning %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err, p)
		}
	}
}
