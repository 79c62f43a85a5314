package calib_test

import (
	"path/filepath"
	"testing"

	"github.com/onnxquant/onnxquant/calib"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/lower"
)

func countIfs(gm *lower.GraphModule) int {
	n := 0
	_ = gm.Walk(func(m *lower.GraphModule) error {
		for _, node := range m.Graph.Nodes {
			if node.Target.OpType == "If" {
				n++
			}
		}
		return nil
	})
	return n
}

// Silero's nested Ifs are shape checks: once its sizes are bound from the
// samples they are constant and inlined, so the 16 kHz and 8 kHz folders
// together reach every remaining path, and the 16 kHz folder alone misses
// exactly the 8 kHz branch of the top-level If.
func TestSpecializeInlinesShapeCheckIfs(t *testing.T) {
	calibDir := filepath.Join(testenv.Corpus(t), "calib")
	both := []string{filepath.Join(calibDir, "silero_legacy_16k"), filepath.Join(calibDir, "silero_legacy_8k")}

	gm := corpusModel(t, "silero_vad_legacy")
	if n := countIfs(gm); n != 9 {
		t.Fatalf("silero has %d Ifs before specialization, want 9", n)
	}
	set := openSet(t, gm, both...)
	if _, err := calib.Specialize(t.Context(), gm, set); err != nil {
		t.Fatal(err)
	}
	if n := countIfs(gm); n != 1 {
		t.Fatalf("%d Ifs after specialization, want only the sample-rate If", n)
	}
	if _, err := calib.Calibrate(t.Context(), gm, set, calib.AllActivations(gm), calib.Options{Workers: 2}); err != nil {
		t.Fatalf("16k and 8k samples together must cover every path: %v", err)
	}

	gm16 := corpusModel(t, "silero_vad_legacy")
	set16 := openSet(t, gm16, both[0])
	if _, err := calib.Specialize(t.Context(), gm16, set16); err != nil {
		t.Fatal(err)
	}
	_, err := calib.Calibrate(t.Context(), gm16, set16, calib.AllActivations(gm16), calib.Options{Workers: 1})
	paths := uncovered(t, err)
	if len(paths) != 1 {
		t.Fatalf("16k only: uncovered %v, want one path", paths)
	}
}
