package qpass

import (
	"fmt"
	"strings"

	"github.com/onnxquant/onnxquant/lower"
)

// Pass is one named rewrite of a lowered model.
type Pass struct {
	// Name is what --dump-after and the ordering table refer to.
	Name string
	// Doc says what the pass rewrites; its first line is printed by
	// --verbose when the pass runs.
	Doc string
	// Removes lists the op types the pass rewrites away in the nodes that
	// will be quantized, so no target needs to run them.
	Removes []string
	// Run rewrites gm in place and reports whether anything changed.
	Run func(gm *lower.GraphModule, ctx *PassContext) (changed bool, err error)
}

// Decompositions says which composite operators the target cannot run as
// one operator once quantized, so the pipeline splits them into pieces that
// each get their own quantization parameters.
type Decompositions struct {
	// Softmax also covers LogSoftmax. ExecuTorch's TOSA path decomposes
	// softmax on every Ethos-U (U55 and U85 alike; only the TFLite route
	// has a native SOFTMAX), so targets normally set it.
	Softmax bool
	// ReflectPad covers Pad in reflect, edge and wrap mode. Ethos-U85 has
	// mirror padding (MIRROR_PAD); U55/U65 do not, but they run the
	// Slice (REVERSE along H or W) and Concat pieces it splits into.
	ReflectPad bool
}

// PassContext is what passes know about the quantization they prepare for.
type PassContext struct {
	// ShouldQuantize reports whether a node will be quantized; passes
	// decompose only those ("decompose only what will be quantized"), so
	// float islands keep their composite operators. nil means every node.
	ShouldQuantize func(n *lower.Node) bool
	// NeedsDecomposition comes from the target.
	NeedsDecomposition Decompositions
	// TargetOpset is the lowest default-domain opset the quantized model
	// needs: 13 for per-channel int8 QDQ, 21 for int16 QDQ. Models already
	// at a higher opset keep theirs.
	TargetOpset int64
	// InputShapes fixes the shapes of top-level inputs for shape inference
	// (a -1 keeps the model's dimension); nil keeps the declared shapes.
	InputShapes map[string][]int64
	// EqualizeCrossLayer turns on the equalize-cross-layer pass
	// (--equalize), which changes weights but not the float function.
	EqualizeCrossLayer bool
	// DumpAfter names a pass after which RunPasses logs the whole graph.
	DumpAfter string
	// Log receives progress and dumps; nil discards them.
	Log func(string)
	// Verify, when set, is run on the graph after every pass; its error
	// fails the run, naming the pass. Tests set it to a consistency check
	// such as (*lower.GraphModule).CheckUsersIndex.
	Verify func(gm *lower.GraphModule) error
}

// quantized applies ShouldQuantize, treating nil as "everything".
func (c *PassContext) quantized(n *lower.Node) bool {
	if c == nil || c.ShouldQuantize == nil {
		return true
	}
	return c.ShouldQuantize(n)
}

func (c *PassContext) logf(format string, args ...any) {
	if c != nil && c.Log != nil {
		c.Log(fmt.Sprintf(format, args...))
	}
}

// Summary is the first line of the pass's documentation.
func (p Pass) Summary() string {
	line, _, _ := strings.Cut(strings.TrimSpace(p.Doc), "\n")
	return line
}

// PassError says which pass failed.
type PassError struct {
	Pass string
	Err  error
}

func (e *PassError) Error() string { return fmt.Sprintf("pass %s: %v", e.Pass, e.Err) }
func (e *PassError) Unwrap() error { return e.Err }

// RunPasses runs passes in order over gm after checking the ordering
// constraints. When ctx.DumpAfter names one of them, the graph is logged
// after it ran; a DumpAfter naming no pass of the list is an error, so a
// typo does not silently dump nothing.
func RunPasses(gm *lower.GraphModule, passes []Pass, ctx *PassContext) error {
	if ctx == nil {
		ctx = &PassContext{}
	}
	if err := CheckOrder(passes); err != nil {
		return err
	}
	if ctx.DumpAfter != "" && !hasPass(passes, ctx.DumpAfter) {
		return fmt.Errorf("dump after %q: no such pass in the pipeline (have %s)", ctx.DumpAfter, passNames(passes))
	}
	for _, p := range passes {
		if err := gm.Interrupted(); err != nil {
			return err
		}
		changed, err := p.Run(gm, ctx)
		if err != nil {
			return &PassError{Pass: p.Name, Err: err}
		}
		state := "no change"
		if changed {
			state = "changed"
		}
		ctx.logf("%s: %s (%s)", p.Name, p.Summary(), state)
		if p.Name == ctx.DumpAfter {
			ctx.logf("graph after %s:\n%s", p.Name, Dump(gm))
		}
		if ctx.Verify != nil {
			if err := ctx.Verify(gm); err != nil {
				return &PassError{Pass: p.Name, Err: fmt.Errorf("after the pass: %w", err)}
			}
		}
	}
	return nil
}

func hasPass(passes []Pass, name string) bool {
	for _, p := range passes {
		if p.Name == name {
			return true
		}
	}
	return false
}

func passNames(passes []Pass) string {
	names := make([]string, len(passes))
	for i, p := range passes {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}

// eachGraph calls fn for the graph of gm and of every body below it.
func eachGraph(gm *lower.GraphModule, fn func(g *lower.Graph) (bool, error)) (bool, error) {
	changed := false
	err := gm.Walk(func(m *lower.GraphModule) error {
		c, err := fn(m.Graph)
		if err != nil {
			if m.Name != "" {
				return fmt.Errorf("submodule %s: %w", m.Name, err)
			}
			return err
		}
		changed = changed || c
		return nil
	})
	return changed, err
}

// eachNode calls fn for every compute node of every graph, over a snapshot
// of each graph's node list so fn may insert and remove nodes.
func eachNode(gm *lower.GraphModule, fn func(n *lower.Node) (bool, error)) (bool, error) {
	return eachGraph(gm, func(g *lower.Graph) (bool, error) {
		changed := false
		nodes := append([]*lower.Node(nil), g.Nodes...)
		for _, n := range nodes {
			if err := g.Module.Interrupted(); err != nil {
				return changed, err
			}
			if n.Op != lower.CallFunction || n.Graph() != g || g.Index(n) < 0 {
				continue
			}
			c, err := fn(n)
			if err != nil {
				return changed, fmt.Errorf("node %q (%s): %w", n.Meta.SourceName, n.Target.OpType, err)
			}
			changed = changed || c
		}
		return changed, nil
	})
}
