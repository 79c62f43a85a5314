package lower_test

import (
	"path/filepath"
	"testing"

	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/lower"
)

// Bodies read outer values through capture placeholders, and the owning
// node lists them, so a rewrite of an outer value reaches the bodies.
func TestCapturesAreExplicitAndFollowReplaceAllUses(t *testing.T) {
	gm := lowerFile(t, filepath.Join(testenv.Corpus(t), "models", "branchy_if_loop.onnx"))
	var ifNode *lower.Node
	for _, n := range gm.Graph.Nodes {
		if n.Target.OpType == "If" {
			ifNode = n
		}
	}
	if ifNode == nil || len(ifNode.Captures) == 0 {
		t.Fatalf("If node has no captures")
	}
	outer := ifNode.Captures[0]
	body := ifNode.Body("else_branch")
	if body == nil {
		t.Fatal("no else_branch body")
	}
	inner := body.Graph.OwnValue(outer.Name)
	if inner == nil || !inner.Producer.Capture {
		t.Fatalf("else_branch has no capture placeholder for %q", outer.Name)
	}
	// Route the captured value through a new Identity and replace its uses.
	pos := gm.Graph.Index(outer.Producer) + 1
	id := gm.Graph.NewOp(pos, "Identity", "test_identity", []*lower.Value{outer}, 1)
	gm.Graph.ReplaceAllUses(outer, id.Outputs[0])
	id.SetInput(0, outer)
	if ifNode.Captures[0] != id.Outputs[0] {
		t.Fatalf("the If node still captures %q", ifNode.Captures[0].Name)
	}
	if body.Graph.OwnValue(id.Outputs[0].Name) != inner || inner.Name != id.Outputs[0].Name {
		t.Fatalf("the capture placeholder was not renamed to %q (it is %q)", id.Outputs[0].Name, inner.Name)
	}
	if err := gm.Graph.TopoSort(); err != nil {
		t.Fatal(err)
	}
	r, err := lower.Raise(gm)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lower.Lower(r, ""); err != nil {
		t.Fatalf("the edited model does not lower again: %v", err)
	}
}

func TestEliminateDeadCodeDropsUnreadNodesAndKeepsOutputs(t *testing.T) {
	gm := lowerFile(t, filepath.Join(testenv.Corpus(t), "models", "resnet18.onnx"))
	before := len(gm.Graph.Nodes)
	in := gm.Graph.Placeholders()[0].Outputs[0]
	gm.Graph.NewOp(gm.Graph.Index(gm.Graph.OutputNode()), "Relu", "dead_relu", []*lower.Value{in}, 1)
	if !gm.EliminateDeadCode() {
		t.Fatal("EliminateDeadCode removed nothing")
	}
	if len(gm.Graph.Nodes) != before {
		t.Fatalf("%d nodes after DCE, want %d", len(gm.Graph.Nodes), before)
	}
	if gm.EliminateDeadCode() {
		t.Fatal("a second DCE still found dead code")
	}
}
