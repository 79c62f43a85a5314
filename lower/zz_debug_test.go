package lower_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/onnxquant/onnxquant/lower"
)

func TestZZDebug(t *testing.T) {
	dir := corpusDir(t)
	gm := lowerFile(t, filepath.Join(dir, "models", "silero_vad_legacy.onnx"))
	forgetTypes(gm)
	if err := lower.InferShapes(gm, nil); err != nil {
		t.Fatal(err)
	}
	gm.Walk(func(m *lower.GraphModule) error {
		if m.Name != "If_0.then_branch" { return nil }
		for _, n := range m.Graph.Nodes {
			for _, v := range n.Outputs {
				if v != nil { fmt.Println(m.Name, n.Target.OpType, v.Name, v.DType, dimsString(v.Shape), v.HasShape) }
			}
		}
		return nil
	})
}
