package interp

import (
	"context"
	"fmt"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/kernels"
	"github.com/onnxquant/onnxquant/onnxio"
)

// runCtx is the state of one Run shared by all frames.
type runCtx struct {
	ctx     context.Context
	workers int
	obs     Observer
	limits  onnxio.Limits
}

// frame holds the live values of one execution of a plan.
type frame struct {
	p      *plan
	slots  []*tensor.Dense
	parent *frame
	// pool, when set (top-level frames of Runs whose observer does not
	// retain tensors), recycles the hot kernels' output buffers; held[s]
	// is the pool buffer slot s's tensor lives in. alloc is pool's
	// allocator for kernels, nil (fresh memory) otherwise.
	pool  *bufPool
	held  []*liveBuf
	alloc kernels.Alloc
}

// Run executes the model on inputs (one tensor per graph input, by name) and
// returns the graph outputs by name. obs may be nil.
func (it *Interpreter) Run(ctx context.Context, inputs map[string]*tensor.Dense, obs Observer) (map[string]*tensor.Dense, error) {
	p := it.root
	if err := p.checkInputs(inputs); err != nil {
		return nil, err
	}
	rc := &runCtx{ctx: ctx, workers: it.workers, obs: obs, limits: it.gm.Root().Limits}
	fr := newFrame(p, nil)
	if poolable(obs) {
		fr.pool = it.pools.get()
		defer it.pools.put(fr.pool)
		fr.held = make([]*liveBuf, p.nslots)
		fr.alloc = fr.pool.alloc
	}
	for _, in := range p.inputs {
		t := inputs[in.value.Name]
		if t == nil {
			t = in.def
		}
		fr.slots[in.slot] = t
	}
	if obs != nil {
		obs.Enter("")
		// Graph inputs are values too: observers quantize them.
		for _, in := range p.inputs {
			obs.Value("", in.value, fr.slots[in.slot])
		}
	}
	if err := rc.exec(fr); err != nil {
		return nil, err
	}
	out := make(map[string]*tensor.Dense, len(p.outputs))
	for i, s := range p.outputs {
		out[p.gm.Graph.OutputNode().Inputs[i].Name] = fr.slots[s]
	}
	return out, nil
}

func newFrame(p *plan, parent *frame) *frame {
	fr := &frame{p: p, slots: make([]*tensor.Dense, p.nslots), parent: parent}
	for _, c := range p.consts {
		fr.slots[c.slot] = c.t
	}
	if parent != nil {
		for _, c := range p.captures {
			fr.slots[c.slot] = parent.slots[c.outer]
		}
	}
	return fr
}

// exec runs every step of the frame's plan.
func (rc *runCtx) exec(fr *frame) error {
	p := fr.p
	var in []*tensor.Dense
	for i := range p.steps {
		st := &p.steps[i]
		if err := rc.ctx.Err(); err != nil {
			return fmt.Errorf("%s interrupted before node %q: %w", moduleLabel(p.module), nodeName(st.node), err)
		}
		in = in[:0]
		for _, s := range st.in {
			if s < 0 {
				in = append(in, nil)
				continue
			}
			t := fr.slots[s]
			if t == nil {
				return nodeErr(st.node, p.module, fmt.Errorf("input %q has no value", p.values[s].Name))
			}
			in = append(in, t)
		}
		outs, err := call(st, rc, fr, in)
		if err != nil {
			return nodeErr(st.node, p.module, err)
		}
		for j, s := range st.out {
			if s < 0 {
				continue
			}
			if j >= len(outs) || outs[j] == nil {
				return nodeErr(st.node, p.module, fmt.Errorf("output %d (%q) was not computed", j, p.values[s].Name))
			}
			fr.slots[s] = outs[j]
			if fr.pool != nil {
				fr.held[s] = fr.pool.hold(outs[j])
			}
			if rc.obs != nil {
				rc.obs.Value(p.module, p.values[s], outs[j])
			}
		}
		for _, s := range st.free {
			fr.slots[s] = nil
			if fr.pool != nil && fr.held[s] != nil {
				fr.pool.release(fr.held[s])
				fr.held[s] = nil
			}
		}
		if fr.pool != nil {
			fr.pool.sweep()
		}
	}
	return nil
}

// runBody executes a body plan with the given graph inputs, returning its
// outputs in order.
func (rc *runCtx) runBody(p *plan, parent *frame, inputs []*tensor.Dense) ([]*tensor.Dense, error) {
	if len(inputs) != len(p.inputs) {
		return nil, fmt.Errorf("%s takes %d inputs, got %d", p.module, len(p.inputs), len(inputs))
	}
	fr := newFrame(p, parent)
	for i, in := range p.inputs {
		fr.slots[in.slot] = inputs[i]
	}
	if rc.obs != nil {
		rc.obs.Enter(p.module)
		for _, in := range p.inputs {
			if t := fr.slots[in.slot]; t != nil {
				rc.obs.Value(p.module, in.value, t)
			}
		}
	}
	if err := rc.exec(fr); err != nil {
		return nil, err
	}
	out := make([]*tensor.Dense, len(p.outputs))
	for i, s := range p.outputs {
		out[i] = fr.slots[s]
	}
	return out, nil
}

// call runs one kernel, turning a panic into an error: a kernel bug on an
// odd input must fail that Run, not the whole calibration process.
func call(st *step, rc *runCtx, fr *frame, in []*tensor.Dense) (outs []*tensor.Dense, err error) {
	defer func() {
		if r := recover(); r != nil {
			outs, err = nil, fmt.Errorf("kernel panic: %v", r)
		}
	}()
	if err := checkAlloc(st.node, in, rc.limits); err != nil {
		return nil, err
	}
	return st.run(rc, fr, in)
}
