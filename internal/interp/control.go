package interp

import (
	"fmt"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/kernels"
	"github.com/onnxquant/onnxquant/lower"
)

func controlOps(t map[string]opBuilder) {
	t["If"] = buildIf
	t["Loop"] = buildLoop
	t["Scan"] = buildScan
	t["Constant"] = buildConstant
}

// buildIf plans both branches; Run evaluates the condition and executes one.
func buildIf(c *buildCtx) (kernel, error) {
	thenP, err := c.body("then_branch")
	if err != nil {
		return nil, err
	}
	elseP, err := c.body("else_branch")
	if err != nil {
		return nil, err
	}
	for _, b := range []*plan{thenP, elseP} {
		if len(b.outputs) != len(c.n.Outputs) {
			return nil, fmt.Errorf("%s has %d outputs, the node %d", b.module, len(b.outputs), len(c.n.Outputs))
		}
	}
	return func(rc *runCtx, fr *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
		cond, err := truth(in[0])
		if err != nil {
			return nil, err
		}
		p := elseP
		if cond {
			p = thenP
		}
		return rc.runBody(p, fr, nil)
	}, nil
}

// buildLoop implements ONNX Loop: optional trip count M and condition,
// loop-carried values, and scan outputs stacked along a new first axis.
func buildLoop(c *buildCtx) (kernel, error) {
	body, err := c.body("body")
	if err != nil {
		return nil, err
	}
	nCarried := len(c.n.Inputs) - 2
	if nCarried < 0 {
		return nil, fmt.Errorf("Loop needs at least 2 inputs (M, cond), has %d", len(c.n.Inputs))
	}
	if len(body.inputs) != nCarried+2 {
		return nil, fmt.Errorf("body takes %d inputs, the node passes %d loop-carried values", len(body.inputs), nCarried)
	}
	nScan := len(body.outputs) - 1 - nCarried
	if nScan < 0 {
		return nil, fmt.Errorf("body has %d outputs, fewer than 1 + %d loop-carried", len(body.outputs), nCarried)
	}
	return func(rc *runCtx, fr *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
		maxTrips := int64(-1) // no limit
		if in[0] != nil {
			m, err := kernels.Ints(in[0])
			if err != nil || len(m) != 1 {
				return nil, fmt.Errorf("trip count must be one integer (got %v): %v", in[0].Shape(), err)
			}
			maxTrips = max(int64(m[0]), 0)
			if err := rc.limits.CheckTrips(maxTrips); err != nil {
				return nil, err
			}
		}
		tripBudget := rc.limits.WithDefaults().MaxLoopTrips
		useCond := in[1] != nil
		cond := true
		if useCond {
			if cond, err = truth(in[1]); err != nil {
				return nil, err
			}
		}
		carried := append([]*tensor.Dense(nil), in[2:]...)
		scans := make([][]*tensor.Dense, nScan)
		args := make([]*tensor.Dense, 2+nCarried)
		for i := int64(0); (maxTrips < 0 || i < maxTrips) && (!useCond || cond); i++ {
			if maxTrips < 0 && !useCond {
				return nil, fmt.Errorf("Loop with neither trip count nor condition never ends")
			}
			if err := rc.ctx.Err(); err != nil {
				return nil, err
			}
			if i >= tripBudget {
				return nil, rc.limits.CheckTrips(i + 1)
			}
			args[0], args[1] = scalarInt(i), scalarBool(cond)
			copy(args[2:], carried)
			outs, err := rc.runBody(body, fr, args)
			if err != nil {
				return nil, err
			}
			if useCond {
				if cond, err = truth(outs[0]); err != nil {
					return nil, fmt.Errorf("iteration %d: %w", i, err)
				}
			}
			copy(carried, outs[1:1+nCarried])
			for k := range scans {
				scans[k] = append(scans[k], outs[1+nCarried+k])
				if err := checkStacked(scans[k], rc.limits); err != nil {
					return nil, fmt.Errorf("scan output %d after %d iterations: %w", k, i+1, err)
				}
			}
		}
		res := make([]*tensor.Dense, 0, nCarried+nScan)
		res = append(res, carried...)
		for k, s := range scans {
			var t *tensor.Dense
			var err error
			if len(s) == 0 {
				t, err = emptyScan(body.values[body.outputs[1+nCarried+k]])
			} else {
				t, err = stack(s)
			}
			if err != nil {
				return nil, fmt.Errorf("scan output %d: %w", k, err)
			}
			res = append(res, t)
		}
		return res, nil
	}, nil
}

// emptyScan is the scan output of a Loop that ran zero times: a [0, ...]
// tensor whose other dims are those the body declares for it.
func emptyScan(v *lower.Value) (*tensor.Dense, error) {
	dt, ok := dtypeOf(v.DType)
	if !ok || !v.HasShape {
		return nil, fmt.Errorf("zero iterations, and the body does not declare the type and shape of %q", v.Name)
	}
	shape := []int{0}
	for _, d := range v.Shape {
		if !d.Known() {
			return nil, fmt.Errorf("zero iterations, and the body does not declare every dim of %q (%v)", v.Name, v.Shape)
		}
		shape = append(shape, int(d.Value))
	}
	return kernels.Empty(shape, dt), nil
}

// buildScan implements Scan with scan axes 0; directions may be reversed.
// Scan-8 (the batched form) runs the opset 9 loop once per batch element:
// its states are [batch, ...] and its scan inputs and outputs
// [batch, sequence, ...]; a sequence_lens input shorter than the sequence
// is not supported.
func buildScan(c *buildCtx) (kernel, error) {
	body, err := c.body("body")
	if err != nil {
		return nil, err
	}
	batched := c.n.Target.Version < 9
	first := 0 // where the states start: after Scan-8's sequence_lens
	if batched {
		first = 1
	}
	nScanIn := int(c.n.AttrInt("num_scan_inputs", 0))
	nState := len(c.n.Inputs) - first - nScanIn
	nScanOut := len(body.outputs) - nState
	if nState < 0 || nScanOut < 0 {
		return nil, fmt.Errorf("inconsistent Scan: %d inputs, %d scan inputs, body has %d outputs", len(c.n.Inputs), nScanIn, len(body.outputs))
	}
	for _, a := range []string{"scan_input_axes", "scan_output_axes"} {
		for _, ax := range c.n.AttrInts(a, nil) {
			if ax != 0 {
				return nil, unsupportedf("Scan %s other than 0", a)
			}
		}
	}
	inDirs := c.n.AttrInts("scan_input_directions", nil)
	outDirs := c.n.AttrInts("scan_output_directions", nil)
	if batched {
		inDirs = c.n.AttrInts("directions", nil)
		outDirs = nil
	}
	loop := func(rc *runCtx, fr *frame, state, seq []*tensor.Dense) ([]*tensor.Dense, error) {
		return scanLoop(rc, fr, body, state, seq, nScanOut, inDirs, outDirs)
	}
	if !batched {
		return func(rc *runCtx, fr *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return loop(rc, fr, in[:nState], in[nState:])
		}, nil
	}
	return func(rc *runCtx, fr *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
		states, seqs := in[first:first+nState], in[first+nState:]
		if len(seqs) == 0 {
			return nil, fmt.Errorf("Scan without scan inputs")
		}
		sh := dims(seqs[0])
		if len(sh) < 2 {
			return nil, fmt.Errorf("Scan-8 scan input of shape %v: want [batch, sequence, ...]", sh)
		}
		if in[0] != nil {
			lens, err := kernels.Ints(in[0])
			if err != nil {
				return nil, fmt.Errorf("sequence_lens: %w", err)
			}
			for _, l := range lens {
				if l != sh[1] {
					return nil, unsupportedf("Scan-8 sequence_lens %v shorter than the sequence (%d)", lens, sh[1])
				}
			}
		}
		per := make([][]*tensor.Dense, nState+nScanOut)
		for b := 0; b < sh[0]; b++ {
			st := make([]*tensor.Dense, nState)
			for i, s := range states {
				t, err := unstackAt(s, b)
				if err != nil {
					return nil, fmt.Errorf("state %d: %w", i, err)
				}
				st[i] = t
			}
			sq := make([]*tensor.Dense, len(seqs))
			for i, s := range seqs {
				t, err := unstackAt(s, b)
				if err != nil {
					return nil, fmt.Errorf("scan input %d: %w", i, err)
				}
				sq[i] = t
			}
			outs, err := loop(rc, fr, st, sq)
			if err != nil {
				return nil, err
			}
			for i, o := range outs {
				per[i] = append(per[i], o)
			}
		}
		res := make([]*tensor.Dense, len(per))
		for i, ts := range per {
			t, err := stack(ts)
			if err != nil {
				return nil, fmt.Errorf("Scan-8 output %d: %w", i, err)
			}
			res[i] = t
		}
		return res, nil
	}, nil
}

// scanLoop runs a Scan body over the first axis of the scan inputs seq,
// threading state: the final states, then the stacked scan outputs.
func scanLoop(rc *runCtx, fr *frame, body *plan, state0, seq []*tensor.Dense, nScanOut int, inDirs, outDirs []int64) ([]*tensor.Dense, error) {
	state := append([]*tensor.Dense(nil), state0...)
	nState := len(state)
	if len(seq) == 0 {
		return nil, fmt.Errorf("Scan without scan inputs")
	}
	steps := dims(seq[0])[0]
	scans := make([][]*tensor.Dense, nScanOut)
	args := make([]*tensor.Dense, nState+len(seq))
	for i := 0; i < steps; i++ {
		copy(args, state)
		for k, s := range seq {
			j := i
			if k < len(inDirs) && inDirs[k] == 1 {
				j = steps - 1 - i
			}
			t, err := unstackAt(s, j)
			if err != nil {
				return nil, fmt.Errorf("scan input %d: %w", k, err)
			}
			args[nState+k] = t
		}
		outs, err := rc.runBody(body, fr, args)
		if err != nil {
			return nil, err
		}
		copy(state, outs[:nState])
		for k := range scans {
			scans[k] = append(scans[k], outs[nState+k])
		}
	}
	res := append([]*tensor.Dense(nil), state...)
	for k, s := range scans {
		if k < len(outDirs) && outDirs[k] == 1 {
			for a, b := 0, len(s)-1; a < b; a, b = a+1, b-1 {
				s[a], s[b] = s[b], s[a]
			}
		}
		t, err := stack(s)
		if err != nil {
			return nil, fmt.Errorf("scan output %d: %w", k, err)
		}
		res = append(res, t)
	}
	return res, nil
}

// buildConstant materializes the value once; every Run returns the same
// (never mutated) tensor.
func buildConstant(c *buildCtx) (kernel, error) {
	n := c.n
	tp := lower.ConstantNodeTensor(n)
	if tp == nil {
		return nil, unsupportedf("Constant without a tensor, float or int value")
	}
	t, err := toDense(tp, c.b.dir)
	if err != nil {
		return nil, err
	}
	c.p.constValues[n.Outputs[0]] = t
	return func(*runCtx, *frame, []*tensor.Dense) ([]*tensor.Dense, error) {
		return []*tensor.Dense{t}, nil
	}, nil
}
