package onnxquant

import (
	"context"
	"fmt"
	"strings"

	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/internal/evaluate"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/quantize"
)

// Promoter quantizes a float model file again, as it is and with one
// module or node moved to a16w8 where the target allows it: the
// measurements behind eval's sensitivity ranking (evaluate.Promoter).
type Promoter struct {
	in     string
	opts   Options
	float  *lower.GraphModule
	target *ethosu.Target
}

// NewPromoter prepares promotions of the float model at in, quantized with
// opts (its Calib or Samples are the calibration data).
func NewPromoter(in string, opts Options) (*Promoter, error) {
	gm, err := lower.LoadFile(in)
	if err != nil {
		return nil, err
	}
	target := opts.Target
	if target == "" {
		target = DefaultTarget
	}
	spec, err := ethosu.NewCompileSpec(target, "", "")
	if err != nil {
		return nil, &invalidOptions{err}
	}
	return &Promoter{in: in, opts: opts, float: gm, target: ethosu.NewTarget(spec)}, nil
}

// Baseline quantizes the model with the options as they are.
func (p *Promoter) Baseline(ctx context.Context) (*lower.GraphModule, error) {
	return p.quantize(ctx, p.opts)
}

// Promote quantizes the model with the module (or, when module is "", the
// node) at a16w8, together with the modules and nodes that read its
// outputs where the target allows them 16 bits; it returns the config
// lines that did it, or an *evaluate.ForbiddenError when the target runs
// none of the unit's nodes at 16 bits.
func (p *Promoter) Promote(ctx context.Context, module, node string) (*lower.GraphModule, []string, error) {
	mods, nodes, why := quantize.PromotionGroup(p.float, p.target, module, node)
	if why != "" {
		return nil, nil, &evaluate.ForbiddenError{Why: why}
	}
	opts := p.opts
	opts.A16W8Modules = append(append([]string{}, opts.A16W8Modules...), mods...)
	opts.A16W8Nodes = append(append([]string{}, opts.A16W8Nodes...), nodes...)
	var config []string
	for _, m := range mods {
		config = append(config, fmt.Sprintf("module_name: {%s: a16w8}", m))
	}
	for _, n := range nodes {
		config = append(config, fmt.Sprintf("node_name: {%s: a16w8}", n))
	}
	gm, err := p.quantize(ctx, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("with %s: %w", strings.Join(config, ", "), err)
	}
	return gm, config, nil
}

func (p *Promoter) quantize(ctx context.Context, opts Options) (*lower.GraphModule, error) {
	qm, _, err := QuantizeFile(ctx, p.in, opts)
	if err != nil {
		return nil, err
	}
	return lower.Lower(qm.Proto, qm.Dir)
}

var _ evaluate.Promoter = (*Promoter)(nil)
