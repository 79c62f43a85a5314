package lower_test

import (
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// Lowering and raising an unmodified model must give back the same model.
func TestLowerRaiseIsIdentityOnCorpus(t *testing.T) {
	dir := testenv.Corpus(t)
	files, _ := filepath.Glob(filepath.Join(dir, "models", "*.onnx"))
	nodeTests, _ := filepath.Glob(filepath.Join(dir, "onnx-node", "*", "model.onnx"))
	files = append(files, nodeTests...)
	if len(files) < 900 {
		t.Fatalf("found only %d models in the corpus", len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m := &onnxpb.ModelProto{}
		if err := proto.Unmarshal(b, m); err != nil {
			t.Fatal(err)
		}
		gm, err := lower.Lower(m, filepath.Dir(f))
		if err != nil {
			t.Errorf("%s: lower: %v", f, err)
			continue
		}
		r, err := lower.Raise(gm)
		if err != nil {
			t.Errorf("%s: raise: %v", f, err)
			continue
		}
		if !proto.Equal(r, m) {
			t.Errorf("%s: raised model differs from the loaded one", f)
			continue
		}
		out, err := proto.MarshalOptions{Deterministic: true}.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != string(b) {
			t.Errorf("%s: raised model is not byte-identical", f)
		}
	}
}
