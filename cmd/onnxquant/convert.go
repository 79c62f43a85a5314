package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio"
)

func convertCommand() *cli.Command {
	return &cli.Command{
		Name:      "convert",
		Usage:     "load, lower and raise a model, optionally converting its opset",
		ArgsUsage: "IN",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "output model `FILE`", Required: true},
			&cli.Int64Flag{Name: "opset", Usage: "convert the default domain to opset `N` (7..23)"},
		}, cutFlags(false)...),
		Action: func(c *cli.Context) error {
			if err := onlyArgs(c, 1, "one input model"); err != nil {
				return err
			}
			in, out := c.Args().First(), c.String("output")
			var plan pathPlan
			plan.write("output", out)
			plan.readModel("input model", in)
			if err := plan.check(); err != nil {
				return err
			}
			m, err := onnxio.Load(in)
			if err != nil {
				return err
			}
			cut, err := cutFromFlags(c)
			if err != nil {
				return err
			}
			if cut.active() {
				if err := m.LoadExternalData(); err != nil {
					return err
				}
				if m.Proto, err = lower.Cut(m.Proto, m.Dir, cut.From, cut.To); err != nil {
					return fmt.Errorf("model %q: %w", in, err)
				}
			}
			gm, err := lower.Lower(m.Proto, m.Dir)
			if err != nil {
				return fmt.Errorf("model %q: %w", in, err)
			}
			gm.Interrupt = interruptOf(c.Context)
			if c.IsSet("opset") {
				if err := lower.ConvertOpset(gm, c.Int64("opset")); err != nil {
					return fmt.Errorf("model %q: %w", in, err)
				}
			}
			raised, err := lower.Raise(gm)
			if err != nil {
				return fmt.Errorf("model %q: %w", in, err)
			}
			if c.Context != nil && c.Context.Err() != nil {
				return c.Context.Err()
			}
			saved := &onnxio.Model{Proto: raised, Path: m.Path, Dir: m.Dir}
			return saved.Save(out, onnxio.SaveOptions{})
		},
	}
}
