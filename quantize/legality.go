package quantize

import (
	"fmt"
	"sort"
	"strings"
)

// The legality types every target reports in. They live with the pipeline,
// not with a target, so the check and precheck stages can hold a report
// without importing the target that made it.

// Placement says where a node of a quantized model runs.
type Placement string

// The placements a verdict can give.
const (
	OnNPU    Placement = "npu"  // a TOSA operator Vela compiles
	OnHost   Placement = "host" // control flow and its condition arithmetic on U55/U65
	Boundary Placement = "qdq"  // QuantizeLinear/DequantizeLinear: rescales folded by the compiler
)

// Verdict is the legality of one node.
type Verdict struct {
	Node      string    `json:"node"`
	Op        string    `json:"op"`
	Module    string    `json:"module,omitempty"`
	Submodule string    `json:"submodule,omitempty"`
	Placement Placement `json:"placement"`
	Legal     bool      `json:"legal"`
	// Rule says how the node breaks the target's rules, empty when legal.
	Rule string `json:"rule,omitempty"`
	// RuleName is the name of the broken rule in the target's rule table
	// (ethosu.Rules), so a reader can look it up.
	RuleName string `json:"rule_name,omitempty"`
}

// Report is the per-node legality of a model for one target.
type Report struct {
	Target string    `json:"target"`
	Nodes  []Verdict `json:"nodes"`
}

// Violations returns the verdicts that are not legal.
func (r *Report) Violations() []Verdict {
	var out []Verdict
	for _, v := range r.Nodes {
		if !v.Legal {
			out = append(out, v)
		}
	}
	return out
}

// Err returns an *IllegalModelError listing every violation, or nil.
func (r *Report) Err() error {
	if v := r.Violations(); len(v) > 0 {
		return &IllegalModelError{Target: r.Target, Violations: v}
	}
	return nil
}

// IllegalModelError lists every node the target cannot run. Partial
// quantization is not supported on Ethos-U, so one such node fails the model.
type IllegalModelError struct {
	Target     string
	Violations []Verdict
}

func (e *IllegalModelError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d node(s) cannot run on %s (partial quantization is not supported on Ethos-U):", len(e.Violations), e.Target)
	for _, v := range e.Violations {
		where := ""
		if v.Module != "" {
			where = " in module " + v.Module
		}
		if v.Submodule != "" {
			where += " (submodule " + v.Submodule + ")"
		}
		fmt.Fprintf(&b, "\n  node %q (%s)%s: %s", v.Node, v.Op, where, v.Rule)
		if v.RuleName != "" {
			fmt.Fprintf(&b, " [%s]", v.RuleName)
		}
	}
	return b.String()
}

// Summary counts the verdicts per placement, for reports.
func (r *Report) Summary() map[Placement]int {
	out := map[Placement]int{}
	for _, v := range r.Nodes {
		out[v.Placement]++
	}
	return out
}

// Ops lists the distinct op types of the violations, sorted.
func (e *IllegalModelError) Ops() []string {
	seen := map[string]bool{}
	for _, v := range e.Violations {
		seen[v.Op] = true
	}
	var out []string
	for op := range seen {
		out = append(out, op)
	}
	sort.Strings(out)
	return out
}
