package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/onnxquant/onnxquant"
	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/internal/evaluate"
	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/quantize"
	"github.com/onnxquant/onnxquant/tflite"
)

func quantizeCommand() *cli.Command {
	cmd := &cli.Command{
		Name:      "quantize",
		Usage:     "quantize a float model to an integer QDQ model for an Ethos-U target",
		ArgsUsage: "IN",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "quantized model `FILE` (required)"},
			&cli.StringSliceFlag{Name: "calib", Usage: "calibration `PATH` (.npy, .npz, sample folder or folder of samples); repeatable (required)"},
			&cli.StringFlag{Name: "target", Value: "ethos-u55-128", Usage: "Ethos-U `TARGET`"},
			&cli.StringFlag{Name: "scheme", Value: "int8", Usage: "global `SCHEME`: int8, int8-per-tensor or a16w8"},
			&cli.StringFlag{Name: "config", Usage: "YAML or JSON `FILE` with global, io, module_name and module_type entries"},
			&cli.StringFlag{Name: "stats", Usage: "quantize from calibration `STATS.json` (calibrate, shards merged) instead of --calib samples"},
			&cli.StringSliceFlag{Name: "input-shape", Usage: "fix input `NAME=D,D,...` to a static shape (samples of another shape are then an error); repeatable"},
			&cli.BoolFlag{Name: "show-config", Usage: "print the config every node gets and the entry that chose it, then exit (needs no --calib or -o)"},
			&cli.BoolFlag{Name: "qat", Usage: "the model carries QAT QuantizeLinear/DequantizeLinear pairs; calibrate the rest with moving averages"},
			&cli.StringFlag{Name: "tflite", Usage: "also write the quantized model as a TFLite `FILE` for Vela (both files or neither)"},
			&cli.StringFlag{Name: "report", Usage: "write a JSON report (legality, timings, coverage, float-vs-quantized evaluation) to `FILE`"},
			&cli.StringFlag{Name: "csv", Usage: "write the --report evaluation's per-layer table as CSV to `FILE`"},
			&cli.StringSliceFlag{Name: "eval-data", Usage: "samples `PATH` the --report evaluation runs on (default: the calibration data); repeatable"},
			jobsFlag("calibration workers"),
			&cli.StringFlag{Name: "observer", Usage: "activation range `RULE`: minmax (textbook), histogram (ExecuTorch), auto (chosen per tensor on held-out samples; the default) or auto-consumers (auto judged by the consumers' output error)"},
			&cli.BoolFlag{Name: "bias-correction", Usage: "correct each output channel's bias for the mean shift of weight quantization"},
			&cli.BoolFlag{Name: "equalize", Usage: "cross-layer equalization of Conv->(Relu)->Conv chains before annotation"},
			&cli.BoolFlag{Name: "auto-a16w8", Usage: "promote the most sensitive modules to 16x8 activations, where the target allows it, until every output reaches --min-sqnr on held-out calibration samples"},
			&cli.GenericFlag{Name: "smooth-quant", Value: &alphaFlag{}, Usage: "migrate MatMul/Gemm activation outlier channels into the weights (SmoothQuant), with strength `ALPHA` in (0, 1] (--smooth-quant alone: 0.5)"},
			&cli.BoolFlag{Name: "adaround", Usage: "choose each weight's rounding direction by its layer's output error on the calibration data (AdaRound-style)"},
			&cli.BoolFlag{Name: "tflite-grids", Usage: "put Sigmoid and Tanh outputs on the fixed grids of TFLite's kernels (int8 Sigmoid: 1/256, zero point -128) instead of their observed ranges, so the TFLite export rounds them once, as the QDQ model does, and needs no QUANTIZE after them (ExecuTorch observes them)"},
			&cli.StringFlag{Name: "dump-after", Usage: "print the graph after `STAGE` or transform pass; \"list\" names them all"},
			&cli.BoolFlag{Name: "verbose", Usage: "print each stage and transform pass as it runs, with its time"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print nothing but errors"},
			&cli.Float64Flag{Name: "min-sqnr", Value: 10, Usage: minSQNRUsage},
		}, cutFlags(true)...),
		Action: quantizeAction,
	}
	cmd.Flags = append(cmd.Flags, limitFlags()...)
	return cmd
}

// quantizeReport is what --report writes, and one row of a batch.
type quantizeReport struct {
	Input   string `json:"input"`
	Output  string `json:"output,omitempty"`
	Target  string `json:"target"`
	Scheme  string `json:"scheme"`
	Samples int    `json:"samples"`
	// InputShapes are the input shapes the model was specialised to, by
	// input (null for one the samples left dynamic).
	InputShapes map[string][]int `json:"input_shapes,omitempty"`
	// Notes tell what was decided from the data: stacked files split,
	// dynamic sizes bound.
	Notes []string `json:"notes,omitempty"`
	// Provenance is what the output's metadata_props record.
	Provenance map[string]string  `json:"provenance,omitempty"`
	Coverage   map[string]int     `json:"coverage"`
	Points     int                `json:"quantization_points"`
	TimingsMS  map[string]float64 `json:"timings_ms"`
	Error      string             `json:"error,omitempty"`
	Legality   *ethosu.Report     `json:"legality,omitempty"`
	// EvalData are the samples Eval was measured on (the calibration
	// data unless --eval-data is given).
	EvalData  []string         `json:"eval_data,omitempty"`
	Eval      *evaluate.Report `json:"eval,omitempty"`
	EvalError string           `json:"eval_error,omitempty"`
	// SQNRCheck is the per-output SQNR --min-sqnr judged (first 8
	// calibration samples), present when the check ran.
	SQNRCheck []evaluate.Output `json:"sqnr_check,omitempty"`
	// Int16Forms is the measured choice between the int8 and int16 forms
	// of the ops the target runs both ways; AutoA16W8 what --auto-a16w8
	// promoted, what it cost and, short of the goal, what is missing.
	Int16Forms *quantize.FormsReport `json:"int16_forms,omitempty"`
	AutoA16W8  *quantize.AutoReport  `json:"auto_a16w8,omitempty"`
}

// quantizeJob is one model to quantize: the quantize command's flags or
// one entry of a batch.
type quantizeJob struct {
	In, Out        string
	Calib          []string
	Stats          string
	Target, Scheme string
	// SchemeSet: the scheme was given explicitly (flag or manifest), so a
	// config file's global entry must agree with it.
	SchemeSet bool
	Config    string
	// InputShapes fix graph inputs to static shapes (--input-shape).
	InputShapes map[string][]int64
	QAT         bool
	Workers     int
	// Eval measures the quantized model against the float one on EvalData
	// (Calib when empty) into the report.
	Eval      bool
	EvalData  []string
	DumpAfter string
	// MakeOutDir: Out's folder was made by the caller (batch creates the
	// folders its manifest names before any model runs), so it is not
	// checked again.
	MakeOutDir bool
	// TFLite, when set, is a second output: the model exported to TFLite.
	TFLite string
	// MinSQNR is the output SQNR floor in dB (0: no check).
	MinSQNR float64
	// Cut selects the sub-model to quantize (empty: the whole model).
	Cut cutSpec
	// Accuracy are the accuracy methods (--observer, --bias-correction,
	// --equalize, --smooth-quant, --adaround).
	Accuracy quantize.Accuracy
	Log      func(string)
	Progress func(done, total int)
	// ShapeProgress reports bind-shapes' samples (models with dynamic
	// inputs).
	ShapeProgress func(done, total int)
	// StageProgress reports the pipeline's stages.
	StageProgress func(stage string, done, total int)
	// EvalProgress reports the --report evaluation's samples.
	EvalProgress func(done, total int)
	Limits       onnxio.Limits
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
	if c.Bool("show-config") {
		return showConfig(c)
	}
	if c.IsSet("stats") && c.IsSet("calib") {
		return usagef("give --calib samples or --stats from calibrate, not both")
	}
	required := []string{"output", "calib"}
	if c.IsSet("stats") {
		required = required[:1]
	}
	if err := requiredFlags(c, required...); err != nil {
		if c.NArg() == 0 && c.NumFlags() == 0 {
			_ = cli.ShowCommandHelp(c.Lineage()[1], c.Command.Name)
		}
		return err
	}
	if c.IsSet("stats") && c.String("report") != "" && len(c.StringSlice("eval-data")) == 0 {
		return usagef("--report with --stats needs --eval-data: there are no calibration samples to evaluate on")
	}
	if err := onlyArgs(c, 1, "one input model"); err != nil {
		return err
	}
	if err := quantize.CheckDumpAfter(c.String("dump-after"), quantize.Stages()); err != nil {
		return &usageError{msg: err.Error()}
	}
	job := quantizeJob{
		In: c.Args().First(), Out: c.String("output"), Calib: c.StringSlice("calib"), Stats: c.String("stats"),
		Target: c.String("target"), Scheme: c.String("scheme"), Config: c.String("config"), QAT: c.Bool("qat"),
		Workers: c.Int("jobs"), DumpAfter: c.String("dump-after"), TFLite: c.String("tflite"),
		Eval: c.String("report") != "", EvalData: c.StringSlice("eval-data"), SchemeSet: c.IsSet("scheme"),
		MinSQNR: c.Float64("min-sqnr"),
	}
	shapes, err := parseInputShapes(c.StringSlice("input-shape"))
	if err != nil {
		return err
	}
	job.InputShapes = shapes
	if job.Scheme, err = onnxquant.CheckOptions(job.options()); err != nil {
		return err
	}
	if job.Cut, err = cutFromFlags(c); err != nil {
		return err
	}
	if len(job.EvalData) > 0 && job.Cut.active() {
		return usagef("--eval-data cannot be combined with a cut: the evaluation runs on the cut's calibration data")
	}
	obs, err := quantize.ParseObserver(c.String("observer"))
	if err != nil {
		return &usageError{msg: err.Error()}
	}
	if job.Stats != "" && !c.IsSet("observer") {
		// Stats hold mergeable observer states: histograms, as calibrate
		// makes them by default.
		obs = quantize.ObserverHistogram
	}
	job.Accuracy = quantize.Accuracy{Observer: obs, BiasCorrection: c.Bool("bias-correction"), EqualizeCrossLayer: c.Bool("equalize"),
		AdaRound: c.Bool("adaround"), TFLiteGrids: c.Bool("tflite-grids")}
	if a, ok := c.Generic("smooth-quant").(*alphaFlag); ok {
		job.Accuracy.SmoothQuant = a.alpha
	}
	if c.Bool("auto-a16w8") {
		if job.MinSQNR <= 0 {
			return usagef("--auto-a16w8 needs a goal: --min-sqnr above 0 dB")
		}
		job.Accuracy.AutoA16W8, job.Accuracy.MinSQNR = true, job.MinSQNR
	}
	if len(job.EvalData) > 0 && !job.Eval {
		return usagef("--eval-data needs --report FILE.json, where the evaluation is written")
	}
	if c.String("csv") != "" && !job.Eval {
		return usagef("--csv needs --report FILE.json: the table comes from its evaluation")
	}
	limits, err := limitsOf(c)
	if err != nil {
		return err
	}
	job.Limits = limits
	report := c.String("report")
	var plan pathPlan
	plan.write("--report", report)
	plan.write("--csv", c.String("csv"))
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
		job.reportProgress(newProgress(c.App.ErrWriter))
	}
	rep, qerr := quantizeToFile(c.Context, job)
	if !c.Bool("quiet") {
		for _, n := range rep.Notes {
			fmt.Fprintf(c.App.ErrWriter, "note: %s\n", n)
		}
	}
	if rep.AutoA16W8 != nil && (!c.Bool("quiet") || qerr != nil) {
		// With --quiet it still explains a goal the floor then refuses.
		fmt.Fprintln(c.App.ErrWriter, printableLines(rep.AutoA16W8.Summary()))
	}
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
	if path := c.String("csv"); path != "" && rep.Eval != nil {
		if err := writeLayersCSV(path, rep.Eval); err != nil {
			os.Remove(job.Out)
			return err
		}
	}
	if !c.Bool("quiet") {
		fmt.Fprintf(c.App.Writer, "wrote %s: %s, %d quantization points, %d calibration samples, %.0f ms%s\n",
			job.Out, rep.Target, rep.Points, rep.Samples, rep.TimingsMS["total"], worstOutputNote(rep.SQNRCheck))
		if rep.Eval != nil {
			printEvalSummary(c.App.Writer, rep.Eval, 3)
		}
	}
	return nil
}

// showConfig prints one line per node: node, op, module, config and the
// entry that chose it.
func showConfig(c *cli.Context) error {
	if err := onlyArgs(c, 1, "one input model"); err != nil {
		return err
	}
	opts := onnxquant.Options{Target: c.String("target"), Scheme: c.String("scheme"), SchemeExplicit: c.IsSet("scheme"),
		ConfigFile: c.String("config"), QAT: c.Bool("qat")}
	lines, err := onnxquant.ShowConfig(c.Args().First(), opts)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tOP\tMODULE\tCONFIG\tCHOSEN BY")
	for _, l := range lines {
		node := l.Node
		if l.Submodule != "" {
			node = l.Submodule + ":" + node
		}
		module := l.Module
		if module == "" {
			module = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", node, l.Op, module, l.Config, l.Rule)
	}
	return tw.Flush()
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

// options are the library options of a job.
// reportProgress shows the run's counted phases on p: bind-shapes (for
// models with dynamic inputs), calibrate, the quantizer's stages and the
// --report evaluation.
func (job *quantizeJob) reportProgress(p *progress) {
	job.Progress = p.counter("calibrate", "samples", nil)
	job.ShapeProgress = p.counter("bind-shapes", "samples", nil)
	job.StageProgress = p.stages("quantize")
	job.EvalProgress = p.counter("eval", "samples", nil)
}

func (job quantizeJob) options() onnxquant.Options {
	return onnxquant.Options{
		Target: job.Target, Scheme: job.Scheme, SchemeExplicit: job.SchemeSet, ConfigFile: job.Config,
		QAT: job.QAT, InputShapes: job.InputShapes, Calib: job.Calib, StatsFile: job.Stats,
		Workers: job.Workers, Progress: job.Progress, ShapeProgress: job.ShapeProgress, StageProgress: job.StageProgress, Log: job.Log, DumpAfter: job.DumpAfter,
		Accuracy: job.Accuracy, Limits: job.Limits,
	}
}

// quantizeToFile quantizes job.In into job.Out; a failure writes nothing.
// The report is filled as far as the run got, failed or not.
func quantizeToFile(ctx context.Context, job quantizeJob) (*quantizeReport, error) {
	start := time.Now()
	rep := &quantizeReport{Input: job.In, Target: job.Target, Scheme: job.Scheme, TimingsMS: map[string]float64{}}
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
	if !job.MakeOutDir {
		if err := checkOutputDir(job.Out); err != nil {
			return finish(err)
		}
	}
	if err := checkTFLiteOutput(job); err != nil {
		return finish(err)
	}
	src, err := prepareSource(ctx, job)
	if err != nil {
		return finish(err)
	}
	defer src.close()
	m, res, err := quantizeSource(ctx, job, src)
	if res != nil {
		rep.Target, rep.Scheme = res.Target, res.Scheme
		rep.Legality = res.Legality
		for k, d := range res.Timings {
			rep.TimingsMS[k] = float64(d.Microseconds()) / 1000
		}
		rep.Samples, rep.Coverage, rep.Points = res.Samples, res.Coverage, res.Points
		rep.InputShapes, rep.Notes, rep.Provenance = res.InputShapes, res.Notes, res.Provenance
		rep.Int16Forms, rep.AutoA16W8 = res.Forms, res.AutoA16W8
	}
	if err != nil {
		return finish(err)
	}
	floor, err := checkMinSQNR(ctx, job, src, m.Proto)
	if floor != nil {
		rep.SQNRCheck = floor.Outputs
	}
	if err != nil {
		return finish(err)
	}
	// Every stage is done: a Ctrl-C now still leaves nothing behind.
	if err := ctx.Err(); err != nil {
		return finish(err)
	}
	var tfl []byte
	if job.TFLite != "" {
		// Exported before anything is written, so that a model the
		// exporter refuses leaves neither file.
		note := func(s string) { rep.Notes = append(rep.Notes, s) }
		if tfl, err = exportModel(m, tflite.ExportOptions{Target: rep.Target, Interrupt: interruptOf(ctx)}, note); err != nil {
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
		var ev *evaluate.Report
		if job.Cut.active() {
			// The float model is the cut, fed its own calibration data.
			rep.EvalData = job.Calib
			ev, _, err = evaluateSource(ctx, src, m.Proto, src.calib, evaluate.Options{Workers: job.Workers, Progress: job.EvalProgress})
		} else {
			ev, err = evaluate.EvaluateFiles(ctx, job.In, job.Out, rep.EvalData, evaluate.Options{Workers: job.Workers, Progress: job.EvalProgress})
		}
		rep.TimingsMS["eval"] = float64(time.Since(evalStart).Microseconds()) / 1000
		if err != nil {
			rep.EvalError = err.Error()
		}
		rep.Eval = ev
	}
	return finish(nil)
}

// quantizeSource quantizes the job's model, or the cut of it that src
// holds (written to src's temporary folder so the library reads it as a
// file, with the cut's calibration data).
func quantizeSource(ctx context.Context, job quantizeJob, src *modelSource) (*onnxio.Model, *onnxquant.Result, error) {
	opts := job.options()
	if src.model == nil {
		return onnxquant.QuantizeFile(ctx, job.In, opts)
	}
	if src.temp == "" {
		dir, err := os.MkdirTemp("", "onnxquant-cut-")
		if err != nil {
			return nil, nil, err
		}
		src.temp = dir
	}
	path := filepath.Join(src.temp, "cut.onnx")
	if err := (&onnxio.Model{Proto: src.model, Dir: src.dir}).Save(path, onnxio.SaveOptions{}); err != nil {
		return nil, nil, err
	}
	opts.Calib = src.calib
	m, res, err := onnxquant.QuantizeFile(ctx, path, opts)
	if err != nil {
		err = fmt.Errorf("model %q (cut): %w", job.In, err)
	}
	return m, res, err
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
	// CreateTemp makes the file 0600; a report is ordinary output.
	werr := f.Chmod(0o644)
	if werr == nil {
		_, werr = f.Write(data)
	}
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

// alphaFlag is --smooth-quant[=ALPHA]: alone it means the default strength
// 0.5, with a value that strength, which must lie in (0, 1].
type alphaFlag struct{ alpha float64 }

func (a *alphaFlag) IsBoolFlag() bool { return true }

func (a *alphaFlag) String() string {
	if a == nil || a.alpha == 0 {
		return ""
	}
	return strconv.FormatFloat(a.alpha, 'g', -1, 64)
}

func (a *alphaFlag) Set(s string) error {
	switch s {
	case "true":
		a.alpha = 0.5
		return nil
	case "false":
		a.alpha = 0
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !(v > 0 && v <= 1) {
		return fmt.Errorf("smooth-quant strength %q: expected a number in (0, 1]", s)
	}
	a.alpha = v
	return nil
}
