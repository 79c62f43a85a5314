package interp

import (
	"errors"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/lower"
)

// Options tune execution.
type Options struct {
	// Workers is the intra-op parallelism handed to kernels; values below 1
	// mean 1. Results do not depend on it.
	Workers int
}

// Observer sees what a Run computes. Calls come from the goroutine running
// Run, in execution order.
type Observer interface {
	// Enter is called each time a body (conditional submodule) is executed,
	// with its qualified name; "" for the top level, once per Run.
	Enter(module string)
	// Value is called for each graph (or body) input as the graph is
	// entered and for each value a node computes, with the module it lives
	// in. The tensor must not be modified; it may be kept, except by
	// observers that implement NonRetaining (whose Runs recycle memory).
	Value(module string, v *lower.Value, t *tensor.Dense)
}

// Interpreter runs one lowered model. Its plan is read-only after New, so
// Run may be called from many goroutines at once; the only state Runs
// share is the locked cache of recycled output buffers (see NonRetaining).
type Interpreter struct {
	gm      *lower.GraphModule
	workers int
	root    *plan
	pools   idlePools
}

// New prepares gm for execution: it materializes initializers and Constant
// values, decodes every node's attributes and builds the execution plan of
// the top-level graph and of every body. All nodes without a kernel are
// reported together in an *UnsupportedOpError.
func New(gm *lower.GraphModule, opts Options) (*Interpreter, error) {
	if gm == nil || gm.Graph == nil {
		return nil, errors.New("interp: nil graph module")
	}
	w := opts.Workers
	if w < 1 {
		w = 1
	}
	b := &planBuilder{dir: gm.Root().Dir, ops: opTable(), unsupported: &UnsupportedOpError{}}
	root, err := b.build(gm, nil)
	if err != nil {
		return nil, err
	}
	if len(b.unsupported.Nodes) > 0 {
		return nil, b.unsupported
	}
	return &Interpreter{gm: gm, workers: w, root: root}, nil
}

// Module returns the GraphModule the interpreter runs.
func (it *Interpreter) Module() *lower.GraphModule { return it.gm }

// nodeName is how errors name a node: its ONNX name when it has one.
func nodeName(n *lower.Node) string {
	if n.Meta.SourceName != "" {
		return n.Meta.SourceName
	}
	return n.Name
}

func nodeErr(n *lower.Node, module string, err error) error {
	var ne *NodeError
	if errors.As(err, &ne) && ne.Module != module {
		// Already names a node inside a body: that is the precise place.
		return err
	}
	return &NodeError{Node: nodeName(n), Op: n.Target.OpType, Module: module, Err: err}
}

func moduleLabel(m string) string {
	if m == "" {
		return "the main graph"
	}
	return m
}
