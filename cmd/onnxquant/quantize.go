package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/onnxquant/onnxquant/calib"
	"github.com/onnxquant/onnxquant/calib/dataset"
	"github.com/onnxquant/onnxquant/calib/evaluate"
	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/qpass"
	"github.com/onnxquant/onnxquant/quantize"
	"github.com/onnxquant/onnxquant/tflite"
)

func quantizeCommand() *cli.Command {
	cmd := &cli.Command{
		Name:      "quantize",
		Usage:     "quantize a float model to an integer QDQ model for an Ethos-U target",
		ArgsUsage: "IN",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "quantized model `FILE` (required)"},
			&cli.StringSliceFlag{Name: "calib", Usage: "calibration `PATH` (.npy, .npz, sample folder or folder of samples); repeatable (required)"},
			&cli.StringFlag{Name: "target", Value: "ethos-u55-128", Usage: "Ethos-U `TARGET`"},
			&cli.StringFlag{Name: "scheme", Value: "int8", Usage: "global `SCHEME`: int8, int8-per-tensor or a16w8"},
			&cli.StringFlag{Name: "config", Usage: "YAML or JSON `FILE` with global, io, module_name and module_type entries"},
			&cli.BoolFlag{Name: "qat", Usage: "the model carries QAT QuantizeLinear/DequantizeLinear pairs; calibrate the rest with moving averages"},
			&cli.StringFlag{Name: "tflite", Usage: "also write the quantized model as a TFLite `FILE` for Vela (both files or neither)"},
			&cli.StringFlag{Name: "report", Usage: "write a JSON report (legality, timings, coverage, float-vs-quantized evaluation) to `FILE`"},
			&cli.StringSliceFlag{Name: "eval-data", Usage: "samples `PATH` the --report evaluation runs on (default: the calibration data); repeatable"},
			&cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, Value: 1, Usage: "calibration workers"},
			&cli.StringFlag{Name: "observer", Usage: "activation range `RULE`: minmax (textbook), histogram (ExecuTorch) or auto (chosen per tensor on held-out samples; the default)"},
			&cli.BoolFlag{Name: "bias-correction", Usage: "correct each output channel's bias for the mean shift of weight quantization"},
			&cli.BoolFlag{Name: "equalize", Usage: "cross-layer equalization of Conv->(Relu)->Conv chains before annotation"},
			&cli.StringFlag{Name: "dump-after", Usage: "print the graph after `STAGE` or transform pass; \"list\" names them all"},
			&cli.BoolFlag{Name: "verbose", Usage: "print each stage and transform pass as it runs, with its time"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print nothing but errors"},
		},
		Action: quantizeAction,
	}
	cmd.Flags = append(cmd.Flags, limitFlags()...)
	return cmd
}

// quantizeReport is what --report writes, and one row of a batch.
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
	// EvalData are the samples Eval was measured on (the calibration
	// data unless --eval-data is given).
	EvalData  []string         `json:"eval_data,omitempty"`
	Eval      *evaluate.Report `json:"eval,omitempty"`
	EvalError string           `json:"eval_error,omitempty"`
}

// quantizeJob is one model to quantize: the quantize command's flags or
// one entry of a batch.
type quantizeJob struct {
	In, Out        string
	Calib          []string
	Target, Scheme string
	Config         string
	QAT            bool
	Workers        int
	// Eval measures the quantized model against the float one on EvalData
	// (Calib when empty) into the report.
	Eval      bool
	EvalData  []string
	DumpAfter string
	// TFLite, when set, is a second output: the model exported to TFLite.
	TFLite string
	// Accuracy are the accuracy methods (--observer, --bias-correction,
	// --equalize).
	Accuracy quantize.Accuracy
	Log      func(string)
	Progress func(done, total int)
	Limits   onnxio.Limits
}

// paths records what the job reads and writes.
func (job quantizeJob) paths(p *pathPlan) {
	p.write("output", job.Out)
	p.write("--tflite", job.TFLite)
	p.readModel("input model", job.In)
	p.read("calibration data", job.Calib...)
	p.read("evaluation data", job.EvalData...)
	p.read("config", job.Config)
}

func quantizeAction(c *cli.Context) error {
	if c.String("dump-after") == "list" {
		fmt.Fprint(c.App.Writer, quantize.Steps(quantize.Stages()))
		return nil
	}
	if err := requiredFlags(c, "output", "calib"); err != nil {
		if c.NArg() == 0 && c.NumFlags() == 0 {
			_ = cli.ShowCommandHelp(c.Lineage()[1], c.Command.Name)
		}
		return err
	}
	if err := onlyArgs(c, 1, "one input model"); err != nil {
		return err
	}
	if err := quantize.CheckDumpAfter(c.String("dump-after"), quantize.Stages()); err != nil {
		return &usageError{msg: err.Error()}
	}
	job := quantizeJob{
		In: c.Args().First(), Out: c.String("output"), Calib: c.StringSlice("calib"),
		Target: c.String("target"), Scheme: c.String("scheme"), Config: c.String("config"), QAT: c.Bool("qat"),
		Workers: c.Int("jobs"), DumpAfter: c.String("dump-after"), TFLite: c.String("tflite"),
		Eval: c.String("report") != "", EvalData: c.StringSlice("eval-data"),
	}
	obs, err := quantize.ParseObserver(c.String("observer"))
	if err != nil {
		return &usageError{msg: err.Error()}
	}
	job.Accuracy = quantize.Accuracy{Observer: obs, BiasCorrection: c.Bool("bias-correction"), EqualizeCrossLayer: c.Bool("equalize")}
	if len(job.EvalData) > 0 && !job.Eval {
		return usagef("--eval-data needs --report FILE.json, where the evaluation is written")
	}
	limits, err := limitsOf(c)
	if err != nil {
		return err
	}
	job.Limits = limits
	report := c.String("report")
	var plan pathPlan
	plan.write("--report", report)
	job.paths(&plan)
	if err := plan.check(); err != nil {
		return err
	}
	if report != "" {
		if err := checkOutputDir(report); err != nil {
			return err
		}
	}
	switch {
	case c.Bool("verbose"):
		job.Log = func(s string) { fmt.Fprintln(c.App.ErrWriter, printableLines(s)) }
	case job.DumpAfter != "":
		// The dump goes through the pipeline's log; without --verbose only
		// the dump is printed.
		job.Log = func(s string) {
			if strings.HasPrefix(s, "graph after ") {
				fmt.Fprintln(c.App.ErrWriter, printableLines(s))
			}
		}
	}
	if !c.Bool("quiet") {
		job.Progress = progressPrinter(c.App.ErrWriter, "calibrate")
	}
	q, err := newQuantizer(job)
	if err != nil {
		return err
	}
	rep, qerr := quantizeToFile(c.Context, q, job)
	if rep.EvalError != "" {
		fmt.Fprintf(c.App.ErrWriter, "onnxquant: warning: evaluation skipped: %s\n", rep.EvalError)
	}
	if qerr != nil {
		// A failed command writes nothing, not even its report.
		return qerr
	}
	if report != "" {
		var staged stagedFiles
		b, err := json.MarshalIndent(rep, "", "  ")
		if err == nil {
			err = staged.stage(report, append(b, '\n'))
		}
		if err == nil {
			err = staged.commit(c.Context)
		}
		if err != nil {
			staged.abort()
			os.Remove(job.Out)
			return err
		}
	}
	if !c.Bool("quiet") {
		fmt.Fprintf(c.App.Writer, "wrote %s: %s, %d quantization points, %d calibration samples, %.0f ms\n",
			job.Out, rep.Target, rep.Points, rep.Samples, rep.TimingsMS["total"])
		if rep.Eval != nil {
			printEvalSummary(c.App.Writer, rep.Eval, 3)
		}
	}
	return nil
}

// requiredFlags is urfave's check of required flags, done in the action so
// that --dump-after list needs none of them.
func requiredFlags(c *cli.Context, names ...string) error {
	var missing []string
	for _, n := range names {
		if !c.IsSet(n) {
			missing = append(missing, n)
		}
	}
	switch len(missing) {
	case 0:
		return nil
	case 1:
		return usagef("Required flag %q not set", missing[0])
	}
	return usagef("Required flags %q not set", strings.Join(missing, ", "))
}

// newQuantizer configures a quantizer for a job. A bad target, scheme or
// config key is a *usageError; a config file that cannot be read is not.
func newQuantizer(job quantizeJob) (*ethosu.Quantizer, error) {
	spec, err := ethosu.NewCompileSpec(job.Target, "", "")
	if err != nil {
		return nil, &usageError{msg: err.Error()}
	}
	q := ethosu.NewEthosUQuantizer(spec)
	global, err := ethosu.RoleConfig(job.Scheme, qpass.RoleGlobal, job.QAT)
	if err != nil || global == nil {
		return nil, usagef("scheme %q: expected int8, int8-per-tensor or a16w8", job.Scheme)
	}
	q.SetGlobal(global)
	if job.Config != "" {
		cf, err := ethosu.LoadConfigFile(job.Config)
		if err == nil {
			err = cf.Apply(q, job.QAT)
		}
		if err != nil {
			if errors.Is(err, ethosu.ErrConfig) {
				return nil, &usageError{msg: err.Error()}
			}
			return nil, err
		}
	}
	q.Workers = job.Workers
	q.DumpAfter = job.DumpAfter
	q.Accuracy = job.Accuracy
	q.Log = job.Log
	q.Progress = job.Progress
	return q, nil
}

// quantizeToFile quantizes job.In with q and writes job.Out; a failure
// writes nothing. The report is filled as far as the run got, failed or
// not.
func quantizeToFile(ctx context.Context, q *ethosu.Quantizer, job quantizeJob) (*quantizeReport, error) {
	start := time.Now()
	rep := &quantizeReport{Input: job.In, Target: q.CompileSpec().Target, Scheme: job.Scheme, TimingsMS: map[string]float64{}}
	finish := func(err error) (*quantizeReport, error) {
		rep.TimingsMS["total"] = float64(time.Since(start).Microseconds()) / 1000
		if err != nil {
			rep.Error = err.Error()
		}
		return rep, err
	}
	if same, _ := samePath(job.In, job.Out); same {
		return finish(fmt.Errorf("output %q is the input model: refusing to overwrite it", job.Out))
	}
	if err := checkOutputDir(job.Out); err != nil {
		return finish(err)
	}
	if err := checkTFLiteOutput(job); err != nil {
		return finish(err)
	}
	res, err := quantizeFile(ctx, q, job.In, job.Calib, job.QAT, job.Limits)
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
	if err != nil {
		return finish(err)
	}
	// Every stage is done: a Ctrl-C now still leaves nothing behind.
	if err := ctx.Err(); err != nil {
		return finish(err)
	}
	m := &onnxio.Model{Proto: res.Model, Path: job.In, Dir: filepath.Dir(job.In)}
	var tfl []byte
	if job.TFLite != "" {
		// Exported before anything is written, so that a model the
		// exporter refuses leaves neither file.
		if tfl, err = exportModel(m, tflite.ExportOptions{Target: rep.Target}); err != nil {
			return finish(fmt.Errorf("model %q: %w", job.In, err))
		}
	}
	if err := m.Save(job.Out, onnxio.SaveOptions{}); err != nil {
		return finish(err)
	}
	if tfl != nil {
		if err := writeFileAtomic(job.TFLite, tfl); err != nil {
			os.Remove(job.Out)
			return finish(err)
		}
	}
	if err := ctx.Err(); err != nil {
		os.Remove(job.Out)
		if job.TFLite != "" {
			os.Remove(job.TFLite)
		}
		return finish(err)
	}
	rep.Output = job.Out
	if job.Eval {
		rep.EvalData = job.EvalData
		if len(rep.EvalData) == 0 {
			rep.EvalData = job.Calib
		}
		evalStart := time.Now()
		ev, err := evaluate.EvaluateFiles(ctx, job.In, job.Out, rep.EvalData, evaluate.Options{Workers: job.Workers})
		rep.TimingsMS["eval"] = float64(time.Since(evalStart).Microseconds()) / 1000
		if err != nil {
			rep.EvalError = err.Error()
		}
		rep.Eval = ev
	}
	return finish(nil)
}

// quantizeFile loads, lowers, calibrates and quantizes one model.
func quantizeFile(ctx context.Context, q *ethosu.Quantizer, in string, calibPaths []string, qat bool, limits onnxio.Limits) (*ethosu.Result, error) {
	gm, err := lower.LoadFile(in)
	if err != nil {
		return nil, err
	}
	setLimits(gm, limits)
	set, err := dataset.Open(calibPaths, calib.InputSpecs(gm))
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
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

// checkOutputDir fails early, before any work, when the output's folder
// does not exist or is not a folder.
func checkOutputDir(out string) error {
	dir := filepath.Dir(out)
	info, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("output %q: folder %q: %w", out, dir, err)
	}
	if !info.IsDir() {
		return fmt.Errorf("output %q: %q is not a folder", out, dir)
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
