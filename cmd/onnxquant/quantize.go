package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/onnxquant/onnxquant/calib"
	"github.com/onnxquant/onnxquant/calib/dataset"
	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio"
)

func quantizeCommand() *cli.Command {
	return &cli.Command{
		Name:      "quantize",
		Usage:     "quantize a float model to an integer QDQ model for an Ethos-U target",
		ArgsUsage: "IN",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "quantized model `FILE`", Required: true},
			&cli.StringSliceFlag{Name: "calib", Usage: "calibration `PATH` (.npy, .npz, sample folder or folder of samples); repeatable", Required: true},
			&cli.StringFlag{Name: "target", Value: "ethos-u55-128", Usage: "Ethos-U `TARGET`"},
			&cli.StringFlag{Name: "scheme", Value: "int8", Usage: "global `SCHEME`: int8, int8-per-tensor or a16w8"},
			&cli.StringFlag{Name: "config", Usage: "YAML or JSON `FILE` with global, io, module_name and module_type entries"},
			&cli.BoolFlag{Name: "qat", Usage: "the model carries QAT QuantizeLinear/DequantizeLinear pairs; calibrate the rest with moving averages"},
			&cli.StringFlag{Name: "report", Usage: "write a JSON report (legality, timings, coverage) to `FILE`"},
			&cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, Value: 1, Usage: "calibration workers"},
			&cli.StringFlag{Name: "dump-after", Usage: "print the graph after transform `PASS`"},
			&cli.BoolFlag{Name: "verbose", Usage: "print each pass as it runs"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print nothing but errors"},
		},
		Action: quantizeAction,
	}
}

// quantizeReport is what --report writes.
type quantizeReport struct {
	Input     string             `json:"input"`
	Output    string             `json:"output,omitempty"`
	Target    string             `json:"target"`
	Scheme    string             `json:"scheme"`
	Samples   int                `json:"samples"`
	Coverage  map[string]int     `json:"coverage"`
	Points    int                `json:"quantization_points"`
	TimingsMS map[string]float64 `json:"timings_ms"`
	Error     string             `json:"error,omitempty"`
	Legality  *ethosu.Report     `json:"legality,omitempty"`
}

func quantizeAction(c *cli.Context) error {
	if err := onlyArgs(c, 1, "one input model"); err != nil {
		return err
	}
	in, out := c.Args().First(), c.String("output")
	spec, err := ethosu.NewCompileSpec(c.String("target"), "", "")
	if err != nil {
		return &usageError{msg: err.Error()}
	}
	q := ethosu.NewEthosUQuantizer(spec)
	global, err := ethosu.SchemeConfig(c.String("scheme"), c.Bool("qat"))
	if err != nil || global == nil {
		return usagef("--scheme %q: expected int8, int8-per-tensor or a16w8", c.String("scheme"))
	}
	q.SetGlobal(global)
	if path := c.String("config"); path != "" {
		cf, err := ethosu.LoadConfigFile(path)
		if err == nil {
			err = cf.Apply(q, c.Bool("qat"))
		}
		if err != nil {
			if errors.Is(err, ethosu.ErrConfig) {
				return &usageError{msg: err.Error()}
			}
			return err
		}
	}
	q.Workers = c.Int("jobs")
	q.DumpAfter = c.String("dump-after")
	if c.Bool("verbose") {
		q.Log = func(s string) { fmt.Fprintln(c.App.ErrWriter, s) }
	}
	if !c.Bool("quiet") {
		q.Progress = progressPrinter(c.App.ErrWriter, "calibrate")
	}
	if same, _ := samePath(in, out); same {
		return fmt.Errorf("output %q is the input model: refusing to overwrite it", out)
	}
	start := time.Now()
	rep := &quantizeReport{Input: in, Target: spec.Target, Scheme: c.String("scheme"), TimingsMS: map[string]float64{}}
	res, qerr := quantizeFile(c.Context, q, in, c.StringSlice("calib"), c.Bool("qat"))
	if res != nil {
		rep.Legality = res.Legality
		for k, d := range res.Timings {
			rep.TimingsMS[k] = float64(d.Microseconds()) / 1000
		}
		if res.Stats != nil {
			rep.Samples, rep.Coverage = res.Stats.Samples, res.Stats.Coverage
		}
		if res.Annotation != nil {
			rep.Points = len(res.Annotation.Points())
		}
	}
	if qerr == nil {
		m := &onnxio.Model{Proto: res.Model, Path: in, Dir: filepath.Dir(in)}
		qerr = m.Save(out, onnxio.SaveOptions{})
		if qerr == nil {
			rep.Output = out
		}
	}
	rep.TimingsMS["total"] = float64(time.Since(start).Microseconds()) / 1000
	if qerr != nil {
		rep.Error = qerr.Error()
	}
	if path := c.String("report"); path != "" {
		if err := writeJSONFile(path, rep); err != nil && qerr == nil {
			qerr = err
		}
	}
	if qerr != nil {
		return qerr
	}
	if !c.Bool("quiet") {
		fmt.Fprintf(c.App.Writer, "wrote %s: %s, %d quantization points, %d calibration samples, %.0f ms\n",
			out, spec.Target, rep.Points, rep.Samples, rep.TimingsMS["total"])
	}
	return nil
}

// quantizeFile loads, lowers, calibrates and quantizes one model.
func quantizeFile(ctx context.Context, q *ethosu.Quantizer, in string, calibPaths []string, qat bool) (*ethosu.Result, error) {
	m, err := onnxio.Load(in)
	if err != nil {
		return nil, err
	}
	if err := m.LoadExternalData(); err != nil {
		return nil, err
	}
	gm, err := lower.Lower(m.Proto, m.Dir)
	if err != nil {
		return nil, fmt.Errorf("model %q: %w", in, err)
	}
	set, err := dataset.Open(calibPaths, calib.InputSpecs(gm))
	if err != nil {
		return nil, err
	}
	res, err := q.QuantizeWithSubmodules(ctx, gm, set, qat)
	if err != nil {
		return res, fmt.Errorf("model %q: %w", in, err)
	}
	return res, nil
}

func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(b, '\n'))
}

// writeFileAtomic writes to a temporary file in the destination folder and
// renames it, so a failure leaves no partial file.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %q: %w", path, err)
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %q: %w", path, werr)
	}
	return nil
}

// samePath reports whether two paths name the same file.
func samePath(a, b string) (bool, error) {
	sa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	sb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(sa, sb), nil
}
