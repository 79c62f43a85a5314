package evaluate

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/onnxquant/onnxquant/lower"
)

// FloorSamples is how many samples the SQNR floor is measured on: enough
// to see a model that cannot serve, few enough to cost a fraction of the
// calibration.
const FloorSamples = 8

// hardDecades is the spread (see Layer.Decades) from which a tensor is
// named as hard for 8 bits: 127 steps cover about two decades.
const hardDecades = 2

// LowSQNRError says a quantized model is too far from its float model to
// serve: some output's SQNR is below the floor the user asked for. It
// names the outputs, the tensors that lose the most and why, and what the
// user can do.
type LowSQNRError struct {
	MinDB   float64
	Samples int
	// Outputs are the outputs below the floor, in graph order.
	Outputs []Output
	// Losses are the tensors that lose the most, worst first.
	Losses []Loss
	// Modules are modules whose 8-bit activations lose the most (a16w8
	// candidates), worst first.
	Modules []string
	// CutFrom is a tensor after which the model could be quantized, the
	// front end before it running on the host ("" when none is apparent).
	CutFrom string
	// Ran16 says the run already has 16-bit activations (a16w8): then
	// --scheme a16w8 is no option, and the 8-bit tensors left are the
	// target's choice (table ops on U55, Log).
	Ran16 bool
}

// Loss is one tensor that loses much, with the reason the graph shows.
type Loss struct {
	Layer
	Op     string `json:"op"`
	Reason string `json:"reason,omitempty"`
}

func (e *LowSQNRError) Error() string {
	var b strings.Builder
	var outs []string
	for _, o := range e.Outputs {
		outs = append(outs, fmt.Sprintf("%q %s", o.Name, o.SQNR))
	}
	fmt.Fprintf(&b, "the quantized model cannot serve: output %s SQNR against the float model on %d calibration samples, below --min-sqnr %g dB",
		strings.Join(outs, ", output "), e.Samples, e.MinDB)
	if len(e.Losses) > 0 {
		b.WriteString("\ntensors that lose the most:")
		for _, l := range e.Losses {
			where := l.Op
			if where == "" {
				where = "model input"
			}
			if l.Module != "" {
				where += " in module " + l.Module
			}
			if l.Submodule != "" {
				where += " in " + l.Submodule
			}
			fmt.Fprintf(&b, "\n  %q (%s)", l.Name, where)
			if !math.IsNaN(float64(l.SQNR)) {
				fmt.Fprintf(&b, ": %s", l.SQNR)
			}
			if l.Reason != "" {
				b.WriteString("; " + l.Reason)
			}
		}
	}
	b.WriteString("\noptions:")
	if e.Ran16 {
		// No scheme to widen to: 16 bits is the widest activation Ethos-U
		// runs. What stayed at 8 bits did so by the target's rules or, under
		// --auto-a16w8, because promoting it measured no gain.
		b.WriteString("\n  - (16-bit activations are in use already, the widest Ethos-U runs; tensors still at 8 bits stay there by the target's rules or, with --auto-a16w8, because promoting them measured no gain: eval --sensitivity ranks them)")
	} else if len(e.Modules) > 0 {
		for _, m := range e.Modules {
			fmt.Fprintf(&b, "\n  - 16-bit activations for module %q (a config file with module_name: {%s: a16w8}) where the target allows it (Ethos-U55 runs table ops such as Log and Exp at 8 bits only)", m, m)
		}
	} else {
		b.WriteString("\n  - 16-bit activations (--scheme a16w8) where the target allows it (Ethos-U55 runs table ops such as Log and Exp at 8 bits only)")
	}
	if e.CutFrom != "" {
		fmt.Fprintf(&b, "\n  - cut the model so its front end runs on the host CPU: --cut-from %q quantizes only what follows that tensor (with --calib-full the calibration data stays the model's own)", e.CutFrom)
	} else {
		b.WriteString("\n  - cut the model (--cut-from/--cut-to) so the part that cannot be quantized runs on the host CPU")
	}
	b.WriteString("\n  - --min-sqnr 0 writes the model anyway")
	return b.String()
}

// CheckSQNRFloor returns a *LowSQNRError when an output of rep is below
// minDB (nil when all reach it, or minDB is 0 or less). floatGM is the
// float model rep was measured on; its graph explains the losses.
func CheckSQNRFloor(rep *Report, floatGM *lower.GraphModule, minDB float64) error {
	if rep == nil || minDB <= 0 {
		return nil
	}
	e := &LowSQNRError{MinDB: minDB, Samples: rep.Samples}
	for _, o := range rep.Outputs {
		if float64(o.SQNR) < minDB {
			e.Outputs = append(e.Outputs, o)
		}
	}
	if len(e.Outputs) == 0 {
		return nil
	}
	for _, l := range rep.Layers {
		if l.Kind == KindActivation && l.Bits == 16 {
			e.Ran16 = true
			break
		}
	}
	producers := producerIndex(floatGM)
	var cands []Loss
	seenModule := map[string]bool{}
	for _, l := range rep.Layers {
		// Tensors spanning decades lose their small values while the SQNR,
		// dominated by the large ones, can still look fine.
		if l.Kind != KindActivation || float64(l.SQNR) >= minDB+20 && l.Decades < hardDecades {
			continue
		}
		loss := Loss{Layer: l}
		if n := producers[l.Submodule+"\x00"+l.Name]; n != nil {
			if movesData(n) {
				continue // a copy of a loss already listed
			}
			loss.Op = n.Target.OpType
			loss.Reason = lossReason(n, l)
		}
		cands = append(cands, loss)
		if l.Bits == 8 && !e.Ran16 && l.Module != "" && !seenModule[l.Module] && len(e.Modules) < 3 {
			seenModule[l.Module] = true
			e.Modules = append(e.Modules, l.Module)
		}
	}
	// A Clip bound computed from the data is worth naming even when its
	// own output is not among the worst.
	measured := map[string]Layer{}
	for _, l := range rep.Layers {
		if l.Submodule == "" {
			measured[l.Name] = l
		}
	}
	for _, n := range floatGM.Graph.Nodes {
		if n.Target.OpType != "Clip" || computedBound(n) == "" || hasLoss(cands, n) {
			continue
		}
		l, ok := measured[n.Outputs[0].Name]
		if !ok {
			l = Layer{Name: n.Outputs[0].Name, Module: n.Meta.Module(), SQNR: DB(math.NaN())}
		}
		cands = append(cands, Loss{Layer: l, Op: "Clip", Reason: lossReason(n, l)})
	}
	// What makes a tensor hard matters more than the error it inherits
	// from upstream: first what the graph does (a log, a bound from the
	// data), then the widest spreads, then the rest by SQNR.
	rank := func(l Loss) int {
		switch {
		case strings.Contains(l.Reason, "log-domain") || strings.Contains(l.Reason, "Clip"):
			return 0
		case l.Reason != "":
			return 1
		}
		return 2
	}
	sort.SliceStable(cands, func(i, j int) bool {
		ri, rj := rank(cands[i]), rank(cands[j])
		switch {
		case ri != rj:
			return ri < rj
		case ri == 1 && cands[i].Decades != cands[j].Decades:
			return cands[i].Decades > cands[j].Decades
		}
		return cands[i].SQNR < cands[j].SQNR
	})
	const maxLosses = 6
	e.Losses = cands[:min(len(cands), maxLosses)]
	// A cut helps where a front end (a log, a bound from the data) is what
	// cannot be quantized, not where a network's layers merely lose bits.
	for _, l := range e.Losses {
		if rank(l) == 0 {
			e.CutFrom = cutCandidate(floatGM, rep.Layers)
			break
		}
	}
	return e
}

func hasLoss(ls []Loss, n *lower.Node) bool {
	for _, l := range ls {
		if len(n.Outputs) > 0 && n.Outputs[0] != nil && l.Name == n.Outputs[0].Name {
			return true
		}
	}
	return false
}

// producerIndex maps "submodule\x00tensor" to the node computing it.
func producerIndex(gm *lower.GraphModule) map[string]*lower.Node {
	out := map[string]*lower.Node{}
	_ = gm.Walk(func(m *lower.GraphModule) error {
		for _, n := range m.Graph.Nodes {
			for _, v := range n.Outputs {
				if v != nil {
					out[m.Name+"\x00"+v.Name] = n
				}
			}
		}
		return nil
	})
	return out
}

// movesData reports ops that only copy values, whose loss is their input's.
func movesData(n *lower.Node) bool {
	switch n.Target.OpType {
	case "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten", "Identity":
		return true
	}
	return false
}

// lossReason names what makes a tensor hard for a linear 8-bit grid.
func lossReason(n *lower.Node, l Layer) string {
	var why []string
	switch n.Target.OpType {
	case "Log":
		why = append(why, "log-domain values (a Log turns the small inputs that its input's grid loses into large errors)")
	case "Exp", "Pow", "Reciprocal":
		why = append(why, "log-domain values (a "+n.Target.OpType+" spreads its input over decades)")
	}
	if sumOfSquares(n) {
		why = append(why, "a sum of squares (a power spectrum: squaring doubles the decades of the values squared, "+
			"and a Sqrt or Log after it magnifies what the grid loses near 0)")
	}
	if l.Decades >= hardDecades {
		why = append(why, fmt.Sprintf("values spanning %.1f decades below their peak", l.Decades))
	}
	if b := computedBound(n); b != "" {
		why = append(why, "a Clip whose "+b+" is computed from the data")
	}
	return strings.Join(why, ", ")
}

// sumOfSquares reports an Add of squares (Pow by 2, or Mul of a value by
// itself), the |X|^2 of a magnitude or power spectrum.
func sumOfSquares(n *lower.Node) bool {
	if n.Target.OpType != "Add" || len(n.Inputs) != 2 {
		return false
	}
	for _, in := range n.Inputs {
		if in == nil || !isSquare(in.Source().Producer) {
			return false
		}
	}
	return true
}

func isSquare(n *lower.Node) bool {
	if n == nil || n.Op != lower.CallFunction || len(n.Inputs) != 2 || n.Inputs[0] == nil || n.Inputs[1] == nil {
		return false
	}
	switch n.Target.OpType {
	case "Mul":
		return n.Inputs[0] == n.Inputs[1]
	case "Pow":
		e, _, ok := n.Inputs[1].ConstantFloats()
		return ok && len(e) == 1 && e[0] == 2
	}
	return false
}

// computedBound says which bound of a Clip comes from a computation rather
// than a constant ("minimum", "maximum", "" for none).
func computedBound(n *lower.Node) string {
	if n.Target.OpType != "Clip" {
		return ""
	}
	for i, name := range []string{"", "minimum", "maximum"} {
		if i == 0 || i >= len(n.Inputs) || n.Inputs[i] == nil {
			continue
		}
		if p := n.Inputs[i].Source().Producer; p != nil && p.Op == lower.CallFunction && p.Target.OpType != "Constant" {
			return name
		}
	}
	return ""
}

// cutCandidate proposes where the quantized part could start: the output
// of the last top-level node that is intrinsically hard for 8 bits
// (log-domain, spanning decades, clipped at a bound from the data) when
// that output is well conditioned, else the first tensor computed after
// it; never a graph output. Quantizing from there leaves the lossy front end on the
// host; "" when there is no such tensor.
func cutCandidate(gm *lower.GraphModule, layers []Layer) string {
	byName := map[string]Layer{}
	for _, l := range layers {
		if l.Submodule == "" && l.Kind == KindActivation {
			byName[l.Name] = l
		}
	}
	outputs := map[string]bool{}
	if out := gm.Graph.OutputNode(); out != nil {
		for _, v := range out.Inputs {
			outputs[v.Name] = true
		}
	}
	hard := func(n *lower.Node) bool {
		for _, v := range n.Outputs {
			if v != nil && lossReason(n, byName[v.Name]) != "" {
				return true
			}
		}
		return false
	}
	last := -1
	for i, n := range gm.Graph.Nodes {
		if n.Op == lower.CallFunction && hard(n) {
			last = i
		}
	}
	if last < 0 {
		return ""
	}
	// The hard node's own output, when it is well conditioned (a Log's, a
	// clipped one's), is where the host hands over.
	for _, v := range gm.Graph.Nodes[last].Outputs {
		if l, measured := byName[v.Name]; v != nil && measured && !outputs[v.Name] && l.Decades < hardDecades {
			return v.Name
		}
	}
	for _, n := range gm.Graph.Nodes[last+1:] {
		if n.Op != lower.CallFunction || n.Target.OpType == "Constant" || hard(n) {
			continue
		}
		for _, v := range n.Outputs {
			if _, measured := byName[v.Name]; v != nil && measured && !outputs[v.Name] {
				return v.Name
			}
		}
	}
	return ""
}
