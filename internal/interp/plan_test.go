package interp

import (
	"path/filepath"
	"testing"

	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio"
)

// checkFrees verifies a plan's memory schedule: every intermediate value is
// freed exactly once, and no later step (or body capture) reads it.
func checkFrees(t *testing.T, p *plan, b *planBuilder) {
	t.Helper()
	freedAt := map[int]int{}
	for i, st := range p.steps {
		for _, s := range st.free {
			if _, dup := freedAt[s]; dup {
				t.Errorf("%s: slot %q freed twice", p.module, p.values[s].Name)
			}
			freedAt[s] = i
		}
	}
	keep := map[int]bool{}
	for _, s := range p.outputs {
		keep[s] = true
	}
	for _, c := range p.consts {
		keep[c.slot] = true
	}
	// Inputs and captures no node reads belong to the caller; the frame
	// drops them when the graph ends.
	read := map[int]bool{}
	for _, st := range p.steps {
		for _, s := range st.in {
			read[s] = true
		}
	}
	for _, in := range p.inputs {
		if !read[in.slot] {
			keep[in.slot] = true
		}
	}
	for _, c := range p.captures {
		if !read[c.slot] {
			keep[c.slot] = true
		}
	}
	for s := 0; s < p.nslots; s++ {
		if _, ok := freedAt[s]; !ok && !keep[s] {
			t.Errorf("%s: value %q is never freed", p.module, p.values[s].Name)
		}
	}
	for i, st := range p.steps {
		reads := append([]int(nil), st.in...)
		for _, v := range st.node.Captures {
			reads = append(reads, p.slotOf[v])
		}
		for _, s := range reads {
			if at, ok := freedAt[s]; ok && s >= 0 && at < i {
				t.Errorf("%s: node %q reads %q after it was freed", p.module, st.node.Name, p.values[s].Name)
			}
		}
	}
}

func TestPlansFreeEveryIntermediateAfterItsLastUse(t *testing.T) {
	corpus := testenv.Corpus(t)
	for _, model := range []string{"resnet18", "branchy_if_loop", "silero_vad_legacy", "tiny_transformer"} {
		m, err := onnxio.Load(filepath.Join(corpus, "models", model+".onnx"))
		if err != nil {
			t.Fatal(err)
		}
		gm, err := lower.Lower(m.Proto, m.Dir)
		if err != nil {
			t.Fatal(err)
		}
		b := &planBuilder{dir: m.Dir, ops: opTable(), unsupported: &UnsupportedOpError{}}
		var check func(gm *lower.GraphModule, parent *plan)
		check = func(gm *lower.GraphModule, parent *plan) {
			p, err := b.build(gm, parent)
			if err != nil {
				t.Fatal(err)
			}
			checkFrees(t, p, b)
			for _, name := range gm.Order {
				check(gm.Submodules[name], p)
			}
		}
		check(gm, nil)
	}
}
