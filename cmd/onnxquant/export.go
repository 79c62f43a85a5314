package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/urfave/cli/v2"

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
			&cli.StringFlag{Name: "target", Value: "ethos-u55-128", Usage: "Ethos-U `TARGET` whose rules the model is checked against"},
			&cli.StringFlag{Name: "branch", Usage: "export only this branch of a data-dependent If (`PATH` as `inspect` lists it, e.g. If_0.then_branch)"},
			&cli.BoolFlag{Name: "float-io", Usage: "verification copy with float32 inputs and outputs (QUANTIZE in, DEQUANTIZE out); not for deployment"},
		},
		Action: func(c *cli.Context) error {
			if err := onlyArgs(c, 1, "one quantized model"); err != nil {
				return err
			}
			in, out := c.Args().First(), c.String("output")
			opts := tflite.ExportOptions{Target: c.String("target"), FloatIO: c.Bool("float-io"), Interrupt: interruptOf(c.Context)}
			if _, err := ethosu.NewCompileSpec(opts.Target, "", ""); err != nil {
				return &usageError{msg: err.Error()}
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
			data, err := exportFile(in, c.String("branch"), opts)
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
// target; nothing is written here.
func exportFile(in, branch string, opts tflite.ExportOptions) ([]byte, error) {
	m, err := onnxio.Load(in)
	if err != nil {
		return nil, err
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
	data, err := exportModel(m, opts)
	if err != nil {
		return nil, fmt.Errorf("model %q: %w", in, err)
	}
	return data, nil
}

func exportModel(m *onnxio.Model, opts tflite.ExportOptions) ([]byte, error) {
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
