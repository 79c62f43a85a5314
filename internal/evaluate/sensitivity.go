package evaluate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/lower"
)

// worstOutput is the lowest output SQNR of a report.
func worstOutput(rep *Report) float64 {
	worst := math.Inf(1)
	for _, o := range rep.Outputs {
		worst = math.Min(worst, float64(o.SQNR))
	}
	return worst
}

// addSensitivity measures, for every hint, the worst output's SQNR when
// only the hinted tensor's quantization is bypassed: its readers take the
// float tensor its QuantizeLinear reads instead of the dequantized one. It
// is a diagnostic (Ethos-U runs no float operator): the most that int16
// activations there could give. loadQuant returns a fresh copy of the
// quantized model for each bypass. Hints on tensors of conditional
// submodules, or on graph outputs, are left without a gain.
func addSensitivity(ctx context.Context, fgm *lower.GraphModule, loadQuant func() (*lower.GraphModule, error), set *dataset.Set, rep *Report, opts Options) error {
	base := worstOutput(rep)
	inner := opts
	inner.Sensitivity, inner.Progress, inner.Promoter = false, nil, nil
	promoted := opts.Promoter != nil
	var promoBase float64
	if promoted {
		bgm, err := opts.Promoter.Baseline(ctx)
		if err != nil {
			return fmt.Errorf("sensitivity: quantizing the float model again: %w", err)
		}
		r, err := Evaluate(ctx, fgm, bgm, set, inner)
		if err != nil {
			return err
		}
		promoBase = worstOutput(r)
	}
	for i := range rep.Hints {
		h := &rep.Hints[i]
		if promoted {
			pgm, config, err := opts.Promoter.Promote(ctx, h.Module, h.Node)
			var forbidden *ForbiddenError
			switch {
			case errors.As(err, &forbidden):
				h.Forbidden = forbidden.Why
			case err != nil:
				return fmt.Errorf("sensitivity: promoting %s: %w", h.Config, err)
			default:
				r, err := Evaluate(ctx, fgm, pgm, set, inner)
				if err != nil {
					return err
				}
				gain := DB(worstOutput(r) - promoBase)
				h.PromotionGain, h.PromotionConfig = &gain, config
				continue
			}
		}
		qgm, err := loadQuant()
		if err != nil {
			return err
		}
		if !bypass(qgm, h.Tensor) {
			continue
		}
		r, err := Evaluate(ctx, fgm, qgm, set, inner)
		if err != nil {
			return err
		}
		gain := DB(worstOutput(r) - base)
		h.FloatGain = &gain
	}
	if promoted {
		// The ranking: promotions by their gain, then what only the
		// diagnostic measured.
		sort.SliceStable(rep.Hints, func(a, b int) bool { return hintGain(rep.Hints[a]) > hintGain(rep.Hints[b]) })
	}
	return nil
}

// hintGain orders hints: a promotion's gain, else -Inf below every
// promotion (forbidden ones, measured only as a diagnostic).
func hintGain(h Hint) float64 {
	if h.PromotionGain != nil {
		return float64(*h.PromotionGain)
	}
	return math.Inf(-1)
}

// bypass makes the readers of tensor's dequantized form in the main graph
// read the float tensor its QuantizeLinear quantizes, and does the same
// downstream wherever a reader's output is quantized again on the same
// grid (MaxPool, Flatten, Reshape and the other ops that share their
// input's qparams), since that grid would round the same values again. It
// reports whether it found the tensor's pair.
func bypass(qgm *lower.GraphModule, tensor string) bool {
	g := qgm.Graph
	for _, n := range g.Nodes {
		if n.Op != lower.CallFunction || n.Target.OpType != "DequantizeLinear" || len(n.Outputs) == 0 || n.Outputs[0] == nil {
			continue
		}
		base := n.Outputs[0].Name
		if m := dequantizedName.FindStringSubmatch(base); m != nil {
			base = m[1]
		}
		if base == tensor {
			return bypassPair(g, n, map[*lower.Node]bool{})
		}
	}
	return false
}

// bypassPair bypasses one QuantizeLinear → DequantizeLinear pair and the
// pairs on the same grid that follow it through one reader.
func bypassPair(g *lower.Graph, dq *lower.Node, seen map[*lower.Node]bool) bool {
	out := dq.Outputs[0]
	if seen[dq] || out.IsGraphOutput() || len(dq.Inputs) == 0 || dq.Inputs[0] == nil {
		return false
	}
	seen[dq] = true
	q := dq.Inputs[0].Producer
	if q == nil || q.Op != lower.CallFunction || q.Target.OpType != "QuantizeLinear" || len(q.Inputs) == 0 || q.Inputs[0] == nil {
		return false
	}
	key := gridKey(dq)
	readers := g.Users(out)
	g.ReplaceAllUses(out, q.Inputs[0])
	for _, r := range readers {
		for _, v := range r.Outputs {
			if v == nil {
				continue
			}
			for _, q2 := range g.Users(v) {
				if q2.Target.OpType != "QuantizeLinear" || len(q2.Outputs) == 0 || q2.Outputs[0] == nil {
					continue
				}
				for _, dq2 := range g.Users(q2.Outputs[0]) {
					if dq2.Target.OpType == "DequantizeLinear" && key != "" && gridKey(dq2) == key {
						bypassPair(g, dq2, seen)
					}
				}
			}
		}
	}
	return true
}

// gridKey identifies a DequantizeLinear's per-tensor scale and zero point,
// "" when they are not constants.
func gridKey(dq *lower.Node) string {
	if len(dq.Inputs) < 2 || dq.Inputs[1] == nil {
		return ""
	}
	s, _, ok := dq.Inputs[1].ConstantFloats()
	if !ok || len(s) != 1 {
		return ""
	}
	zp := []int64{0}
	if len(dq.Inputs) > 2 && dq.Inputs[2] != nil {
		if zp, ok = dq.Inputs[2].ConstantInts(); !ok {
			return ""
		}
	}
	return fmt.Sprint(s[0], zp)
}
