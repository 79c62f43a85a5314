package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/onnxquant/onnxquant"
	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/tflite"
)

func exportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "write a quantized (QDQ) model as a TFLite flatbuffer for Vela and an Ethos-U NPU",
		ArgsUsage: "Q.onnx",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "TFLite `FILE` to write", Required: true},
			&cli.StringFlag{Name: "target", Usage: "Ethos-U `TARGET` whose rules the model is checked against (default: the one the model records, else ethos-u55-128)"},
			&cli.StringFlag{Name: "branch", Usage: "export only this branch of a data-dependent If (`PATH` as `inspect` lists it, e.g. If_0.then_branch)"},
			&cli.StringSliceFlag{Name: "input-shape", Usage: "fix a dynamic input `NAME=D,D,...` to a static shape (one branch of a model whose paths take different sizes); repeatable"},
			&cli.BoolFlag{Name: "float-io", Usage: "verification copy with float32 inputs and outputs (QUANTIZE in, DEQUANTIZE out); not for deployment"},
		},
		Action: func(c *cli.Context) error {
			if err := onlyArgs(c, 1, "one quantized model"); err != nil {
				return err
			}
			in, out := c.Args().First(), c.String("output")
			shapes, err := parseInputShapes(c.StringSlice("input-shape"))
			if err != nil {
				return err
			}
			opts := tflite.ExportOptions{Target: c.String("target"), FloatIO: c.Bool("float-io"), InputShapes: shapes, Interrupt: interruptOf(c.Context)}
			if c.IsSet("target") {
				if _, err := ethosu.NewCompileSpec(opts.Target, "", ""); err != nil {
					return &usageError{msg: err.Error()}
				}
			}
			var plan pathPlan
			plan.write("output", out)
			plan.readModel("input model", in)
			if err := plan.check(); err != nil {
				return err
			}
			if err := checkOutputDir(out); err != nil {
				return err
			}
			data, err := exportFile(in, c.String("branch"), &opts, func(note string) { fmt.Fprintln(c.App.ErrWriter, note) })
			if err != nil {
				return err
			}
			if c.Context != nil && c.Context.Err() != nil {
				return c.Context.Err()
			}
			if err := writeFileAtomic(out, data); err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "wrote %s: TFLite for %s (%d bytes)\n", out, opts.Target, len(data))
			return nil
		},
	}
}

// exportFile converts a QDQ ONNX file to TFLite bytes, checked for the
// target; nothing is written here. Without a target (opts.Target empty) it
// takes the one the model's provenance records, as `check` does, else
// defaultTarget with a note, and sets opts.Target to it.
func exportFile(in, branch string, opts *tflite.ExportOptions, note func(string)) ([]byte, error) {
	m, err := onnxio.Load(in)
	if err != nil {
		return nil, err
	}
	if opts.Target == "" {
		if t := onnxquant.Provenance(m.Proto)[onnxquant.MetaTarget]; t != "" {
			if _, err := ethosu.NewCompileSpec(t, "", ""); err != nil {
				return nil, fmt.Errorf("model %q: the target it records: %w (give --target)", in, err)
			}
			opts.Target = t
		} else {
			opts.Target = defaultTarget
			note(fmt.Sprintf("note: %s records no target (it was not made by onnxquant); exporting for %s (give --target)", in, opts.Target))
		}
	}
	if branch != "" {
		if m, err = tflite.SelectBranch(m, branch); err != nil {
			return nil, fmt.Errorf("model %q: %w", in, err)
		}
	}
	// The QDQ model must first be legal for the target, as `check` judges
	// it; the TFLite rules are checked after the mapping.
	if err := checkQDQ(m, opts.Target, opts.Interrupt); err != nil {
		return nil, fmt.Errorf("model %q: %w", in, err)
	}
	data, err := exportModel(m, *opts, func(s string) { note("note: " + s) })
	if err != nil {
		return nil, fmt.Errorf("model %q: %w", in, err)
	}
	return data, nil
}

// exportModel converts and checks m, and notes what quantizing it again
// would spare the NPU.
func exportModel(m *onnxio.Model, opts tflite.ExportOptions, note func(string)) ([]byte, error) {
	tm, err := tflite.Export(m, opts)
	if err != nil {
		var cf *tflite.ControlFlowError
		if errors.As(err, &cf) {
			return nil, err
		}
		return nil, fmt.Errorf("export to TFLite: %w", err)
	}
	if err := tflite.Check(tm, opts.Target); err != nil {
		return nil, err
	}
	// After --tflite-grids the ones left share their grid with another
	// tensor (a Concat with a box regression) and must keep it.
	gridded := slices.Contains(strings.Split(onnxquant.Provenance(m.Proto)[onnxquant.MetaStages], ","), "tflite-grids")
	if n := tflite.RequantizedTableOps(tm); n > 0 && !opts.FloatIO && !gridded {
		note(fmt.Sprintf("%d LOGISTIC/TANH output(s) need a QUANTIZE from TFLite's fixed grid to the quantizer's; "+
			"quantizing with --tflite-grids spares those NPU operators and the second rounding (docs/export.md)", n))
	}
	return tflite.Marshal(tm)
}

// checkQDQ applies `check`'s legality rules to a quantized model.
func checkQDQ(m *onnxio.Model, target string, interrupt func() error) error {
	spec, err := ethosu.NewCompileSpec(target, "", "")
	if err != nil {
		return &usageError{msg: err.Error()}
	}
	gm, err := lower.Lower(m.Proto, m.Dir)
	if err != nil {
		return err
	}
	gm.Interrupt = interrupt
	if err := lower.InferShapes(gm, nil); err != nil {
		return err
	}
	rep := ethosu.Check(gm, spec)
	if err := gm.Interrupted(); err != nil {
		return err
	}
	return rep.Err()
}

// checkTFLiteOutput checks quantize's --tflite path before any work.
func checkTFLiteOutput(job quantizeJob) error {
	if job.TFLite == "" {
		return nil
	}
	if same, _ := samePath(job.In, job.TFLite); same {
		return fmt.Errorf("output %q is the input model: refusing to overwrite it", job.TFLite)
	}
	if filepath.Clean(job.TFLite) == filepath.Clean(job.Out) {
		return usagef("--tflite %q is the same file as -o", job.TFLite)
	}
	return checkOutputDir(job.TFLite)
}

// defaultTarget is what export checks for when neither --target nor the
// model says.
const defaultTarget = "ethos-u55-128"
