package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/internal/testenv"
)

func inspectJSON(t *testing.T, model string) *inspection {
	t.Helper()
	code, out, stderr := runCLI(t, "inspect", "--json", model)
	if code != 0 {
		t.Fatalf("inspect %s: exit %d: %s", model, code, stderr)
	}
	rep := &inspection{}
	if err := json.Unmarshal([]byte(out), rep); err != nil {
		t.Fatalf("inspect --json output is not JSON: %v\n%s", err, out)
	}
	return rep
}

func TestInspectListsBranchyIfLoopSubmodulesAndModules(t *testing.T) {
	rep := inspectJSON(t, filepath.Join(testenv.Corpus(t), "models", "branchy_if_loop.onnx"))
	subs := map[string]subEntry{}
	for _, s := range rep.Submodules {
		subs[s.Name] = s
	}
	for name, op := range map[string]string{"If_0.then_branch": "If", "If_0.else_branch": "If", "Loop_0.body": "Loop"} {
		s, ok := subs[name]
		if !ok {
			t.Errorf("submodule %s missing; have %v", name, rep.Submodules)
			continue
		}
		if s.Op != op || s.Nodes == 0 {
			t.Errorf("submodule %s: op %s with %d nodes", name, s.Op, s.Nodes)
		}
	}
	if c := subs["If_0.then_branch"].Condition; c == "" {
		t.Errorf("the If branches do not name their condition")
	}
	mods := map[string]bool{}
	for _, m := range rep.Modules {
		mods[m.Name] = true
	}
	for _, want := range []string{"fast.conv", "slow.conv1", "slow.conv2", "refine"} {
		if !mods[want] {
			t.Errorf("module %s missing; have %v", want, rep.Modules)
		}
	}
	if rep.Inputs[0].Name != "image" || strings.Join(rep.Inputs[0].Shape, ",") != "1,3,32,32" {
		t.Errorf("first input %+v, want image [1,3,32,32]", rep.Inputs[0])
	}
}

func TestInspectShowsSileroNestedIfs(t *testing.T) {
	rep := inspectJSON(t, filepath.Join(testenv.Corpus(t), "models", "silero_vad_legacy.onnx"))
	top, nested := 0, 0
	for _, s := range rep.Submodules {
		if s.Op != "If" {
			continue
		}
		if strings.Count(s.Name, ".") == 1 {
			top++
		} else {
			nested++
		}
	}
	// One top-level If (two bodies) whose branches hold 8 more Ifs (16 bodies).
	if top != 2 || nested != 16 || rep.OpCounts["If"] != 9 {
		t.Errorf("got %d top-level and %d nested If bodies and %d Ifs, want 2, 16 and 9: %+v", top, nested, rep.OpCounts["If"], rep.Submodules)
	}
}
