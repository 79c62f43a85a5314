package main

import (
	"encoding/json"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/onnxquant/onnxquant"
	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio"
)

func checkCommand() *cli.Command {
	cmd := &cli.Command{
		Name:      "check",
		Usage:     "judge whether a quantized model can run on an Ethos-U target (exit 0 legal, 1 not)",
		ArgsUsage: "MODEL",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "target", Value: "ethos-u55-128", Usage: "Ethos-U `TARGET` (default: the one the model records, else ethos-u55-128)"},
			&cli.BoolFlag{Name: "json", Usage: "print the per-node report as JSON"},
			&cli.StringSliceFlag{Name: "calib", Usage: "for a float model with dynamic input sizes: samples `PATH` that bind them, as quantize does; repeatable"},
		},
		Action: func(c *cli.Context) error {
			if err := onlyArgs(c, 1, "one model"); err != nil {
				return err
			}
			if c.IsSet("target") {
				if _, err := ethosu.NewCompileSpec(c.String("target"), "", ""); err != nil {
					return &usageError{msg: err.Error()}
				}
			}
			path := c.Args().First()
			m, err := onnxio.Load(path)
			if err != nil {
				return err
			}
			// The target the model was made for, unless --target says
			// otherwise.
			target := c.String("target")
			if !c.IsSet("target") {
				if t := onnxquant.Provenance(m.Proto)[onnxquant.MetaTarget]; t != "" {
					target = t
				} else {
					fmt.Fprintf(c.App.ErrWriter, "note: %s records no target (it was not made by onnxquant); checking for %s (give --target)\n", path, target)
				}
			}
			spec, err := ethosu.NewCompileSpec(target, "", "")
			if err != nil {
				return &usageError{msg: err.Error()}
			}
			gm, err := lower.Lower(m.Proto, m.Dir)
			if err != nil {
				return fmt.Errorf("model %q: %w", path, err)
			}
			limits, err := limitsOf(c)
			if err != nil {
				return err
			}
			setLimits(gm, limits)
			gm.Interrupt = interruptOf(c.Context)
			if n, _ := onnxquant.QDQNodes(gm); n == 0 {
				return checkFloat(c, gm, path, spec.Target)
			}
			if err := lower.InferShapes(gm, nil); err != nil {
				return fmt.Errorf("model %q: %w", path, err)
			}
			rep := ethosu.Check(gm, spec)
			if err := gm.Interrupted(); err != nil {
				return err
			}
			if c.Bool("json") {
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			}
			if err := rep.Err(); err != nil {
				return fmt.Errorf("model %q: %w", path, err)
			}
			if !c.Bool("json") {
				s := rep.Summary()
				fmt.Fprintf(c.App.Writer, "%s: legal for %s (%d NPU nodes, %d Q/DQ nodes, %d host control nodes)\n",
					path, spec.Target, s[ethosu.OnNPU], s[ethosu.Boundary], s[ethosu.OnHost])
			}
			return nil
		},
	}
	cmd.Flags = append(cmd.Flags, limitFlags()...)
	return cmd
}

// checkFloat judges a model that is not quantized yet the way quantize
// would before calibrating: a float model never runs on Ethos-U as it
// is, so the verdict is always exit 1, but it says whether quantize can
// take it.
func checkFloat(c *cli.Context, gm *lower.GraphModule, path, target string) error {
	rep, err := onnxquant.Precheck(c.Context, gm, target, c.StringSlice("calib"))
	if rep != nil && c.Bool("json") {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	}
	if err != nil {
		return fmt.Errorf("model %q is not quantized yet, and %w", path, err)
	}
	return fmt.Errorf("model %q is not quantized yet: its operators pass %s's pre-check, so quantize it (onnxquant quantize %s --calib DATA -o OUT.onnx --target %s)", path, target, path, target)
}
