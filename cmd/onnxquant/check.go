package main

import (
	"encoding/json"
	"fmt"

	"github.com/urfave/cli/v2"

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
			&cli.StringFlag{Name: "target", Value: "ethos-u55-128", Usage: "Ethos-U `TARGET`"},
			&cli.BoolFlag{Name: "json", Usage: "print the per-node report as JSON"},
		},
		Action: func(c *cli.Context) error {
			if err := onlyArgs(c, 1, "one model"); err != nil {
				return err
			}
			spec, err := ethosu.NewCompileSpec(c.String("target"), "", "")
			if err != nil {
				return &usageError{msg: err.Error()}
			}
			path := c.Args().First()
			m, err := onnxio.Load(path)
			if err != nil {
				return err
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
			if err := lower.InferShapes(gm, nil); err != nil {
				return fmt.Errorf("model %q: %w", path, err)
			}
			rep := ethosu.Check(gm, spec)
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
