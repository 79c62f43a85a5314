package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio"
)

func inspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "show a model's opsets, inputs and outputs, op counts and module tree",
		ArgsUsage: "MODEL",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print JSON instead of text"},
		},
		Action: func(c *cli.Context) error {
			if err := onlyArgs(c, 1, "one model file"); err != nil {
				return err
			}
			m, err := onnxio.Load(c.Args().First())
			if err != nil {
				return err
			}
			gm, err := lower.Lower(m.Proto, m.Dir)
			if err != nil {
				return fmt.Errorf("model %q: %w", m.Path, err)
			}
			rep := inspectModel(m, gm)
			if c.Bool("json") {
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			rep.writeText(c.App.Writer)
			return nil
		},
	}
}

// inspection is what `inspect` reports; its JSON form is a stable interface.
type inspection struct {
	File      string `json:"file"`
	IRVersion int64  `json:"ir_version"`
	Producer  string `json:"producer,omitempty"`
	// Metadata are the model's metadata_props; onnxquant's outputs record
	// how they were made there (onnxquant.* keys).
	Metadata   map[string]string `json:"metadata,omitempty"`
	Opsets     []opsetEntry      `json:"opsets"`
	Inputs     []tensorEntry     `json:"inputs"`
	Outputs    []tensorEntry     `json:"outputs"`
	Nodes      int               `json:"nodes"`
	OpCounts   map[string]int    `json:"op_counts"`
	Modules    []moduleEntry     `json:"modules"`
	Submodules []subEntry        `json:"submodules"`
}

type opsetEntry struct {
	Domain  string `json:"domain"`
	Version int64  `json:"version"`
}

type tensorEntry struct {
	Name  string   `json:"name"`
	DType string   `json:"dtype"`
	Shape []string `json:"shape"`
}

type moduleEntry struct {
	Name string `json:"name"`
	// Submodule is the conditional submodule the module's nodes are in,
	// "" for the top-level graph.
	Submodule string `json:"submodule"`
	Nodes     int    `json:"nodes"`
}

type subEntry struct {
	Name      string   `json:"name"`
	Owner     string   `json:"owner"`
	Op        string   `json:"op"`
	Attr      string   `json:"attr"`
	Condition string   `json:"condition,omitempty"`
	Captures  []string `json:"captures"`
	Nodes     int      `json:"nodes"`
}

func inspectModel(m *onnxio.Model, gm *lower.GraphModule) *inspection {
	rep := &inspection{File: m.Path, IRVersion: m.Proto.GetIrVersion(), Producer: strings.TrimSpace(m.Proto.GetProducerName() + " " + m.Proto.GetProducerVersion()), OpCounts: map[string]int{}}
	for _, e := range m.Proto.MetadataProps {
		if rep.Metadata == nil {
			rep.Metadata = map[string]string{}
		}
		rep.Metadata[e.GetKey()] = e.GetValue()
	}
	for _, o := range m.Proto.OpsetImport {
		rep.Opsets = append(rep.Opsets, opsetEntry{Domain: o.GetDomain(), Version: o.GetVersion()})
	}
	g := gm.Graph
	for _, p := range g.Placeholders() {
		rep.Inputs = append(rep.Inputs, describe(p.Outputs[0]))
	}
	for _, v := range g.OutputNode().Inputs {
		rep.Outputs = append(rep.Outputs, describe(v))
	}
	type key struct{ mod, sub string }
	moduleNodes := map[key]int{}
	_ = gm.Walk(func(sm *lower.GraphModule) error {
		count := 0
		for _, n := range sm.Graph.Nodes {
			if n.Op != lower.CallFunction && n.Op != lower.CallModule {
				continue
			}
			count++
			rep.Nodes++
			rep.OpCounts[n.Target.OpType]++
			for _, mod := range n.Meta.ModuleStack {
				moduleNodes[key{mod, sm.Name}]++
			}
		}
		if sm.Owner != nil {
			e := subEntry{Name: sm.Name, Owner: sm.Owner.Meta.SourceName, Op: sm.Owner.Target.OpType, Nodes: count, Captures: []string{}}
			for _, b := range sm.Owner.Bodies {
				if b.Module == sm.Name {
					e.Attr = b.Attr
				}
			}
			if sm.Owner.Target.OpType == "If" && len(sm.Owner.Inputs) > 0 && sm.Owner.Inputs[0] != nil {
				e.Condition = sm.Owner.Inputs[0].Name
			}
			for _, v := range sm.Graph.Nodes {
				if v.Capture {
					e.Captures = append(e.Captures, v.Outputs[0].Name)
				}
			}
			rep.Submodules = append(rep.Submodules, e)
		}
		return nil
	})
	for k, n := range moduleNodes {
		rep.Modules = append(rep.Modules, moduleEntry{Name: k.mod, Submodule: k.sub, Nodes: n})
	}
	sort.Slice(rep.Modules, func(i, j int) bool {
		a, b := rep.Modules[i], rep.Modules[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Submodule < b.Submodule
	})
	return rep
}

func describe(v *lower.Value) tensorEntry {
	e := tensorEntry{Name: v.Name, DType: onnxio.DataTypeName(v.DType), Shape: []string{}}
	if !v.HasShape {
		e.Shape = nil
	}
	for _, d := range v.Shape {
		switch {
		case d.Param != "":
			e.Shape = append(e.Shape, d.Param)
		case d.Value >= 0:
			e.Shape = append(e.Shape, fmt.Sprint(d.Value))
		default:
			e.Shape = append(e.Shape, "?")
		}
	}
	return e
}

func (r *inspection) writeText(w io.Writer) {
	fmt.Fprintf(w, "model      %s\n", printable(r.File))
	fmt.Fprintf(w, "ir_version %d", r.IRVersion)
	if r.Producer != "" {
		fmt.Fprintf(w, " (producer %s)", printable(r.Producer))
	}
	fmt.Fprintln(w)
	keys := make([]string, 0, len(r.Metadata))
	for k := range r.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "metadata   %s = %s\n", k, r.Metadata[k])
	}
	fmt.Fprint(w, "opsets    ")
	for _, o := range r.Opsets {
		d := o.Domain
		if d == "" {
			d = "ai.onnx"
		}
		fmt.Fprintf(w, " %s:%d", printable(d), o.Version)
	}
	fmt.Fprintln(w)
	for _, t := range r.Inputs {
		fmt.Fprintf(w, "input      %s %s [%s]\n", printable(t.Name), t.DType, printable(strings.Join(t.Shape, ",")))
	}
	for _, t := range r.Outputs {
		fmt.Fprintf(w, "output     %s %s [%s]\n", printable(t.Name), t.DType, printable(strings.Join(t.Shape, ",")))
	}
	ops := make([]string, 0, len(r.OpCounts))
	for op := range r.OpCounts {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	fmt.Fprintf(w, "nodes      %d:", r.Nodes)
	for _, op := range ops {
		fmt.Fprintf(w, " %s=%d", printable(op), r.OpCounts[op])
	}
	fmt.Fprintln(w)
	if len(r.Submodules) > 0 {
		fmt.Fprintln(w, "conditional submodules:")
		for _, s := range r.Submodules {
			cond := ""
			if s.Condition != "" {
				cond = " if " + printable(s.Condition)
			}
			fmt.Fprintf(w, "  %-40s %s %s%s, %d nodes, captures %d\n", printable(s.Name), printable(s.Op), printable(s.Attr), cond, s.Nodes, len(s.Captures))
		}
	}
	if len(r.Modules) > 0 {
		fmt.Fprintln(w, "modules:")
		for _, m := range r.Modules {
			depth := strings.Count(m.Name, ".")
			where := ""
			if m.Submodule != "" {
				where = "  (in " + printable(m.Submodule) + ")"
			}
			fmt.Fprintf(w, "  %s%s  %d nodes%s\n", strings.Repeat("  ", depth), printable(m.Name), m.Nodes, where)
		}
	}
}
