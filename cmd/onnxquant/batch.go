package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/onnxquant/onnxquant"
	"go.yaml.in/yaml/v3"

	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/quantize"
)

func batchCommand() *cli.Command {
	return &cli.Command{
		Name:  "batch",
		Usage: "quantize many models, in parallel, from a manifest or a glob; exit 1 if any fails",
		Description: `A manifest is YAML: a list of entries, or a mapping with a "models" list.
Each entry has model, calib (a path or a list), output, and optionally target,
scheme and config; relative paths are taken from the manifest's folder:

   models:
     - model: tinynet.onnx
       calib: tinynet_calib
       output: out/tinynet_int8.onnx
       target: ethos-u85-256
       min_sqnr: 20

An entry may also set what quantize's flags set for one model: min_sqnr
(overrides --min-sqnr; 0 disables the check), input_shape (NAME=D,D,... or a
list of them), observer, bias_correction, equalize, qat, tflite (a second
output), cut_from, cut_to (tensor names, a list or comma-separated) and
calib_full.

With --glob, every matching model uses --calib, --target, --scheme and --config
and is written to --out-dir as NAME_SCHEME.onnx.`,
		ArgsUsage: "[MANIFEST.yaml]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "glob", Usage: "quantize every model matching `PATTERN` (instead of a manifest)"},
			&cli.StringSliceFlag{Name: "calib", Usage: "calibration `PATH` for --glob models; repeatable"},
			&cli.StringFlag{Name: "out-dir", Usage: "`DIR` for --glob outputs (and manifest entries without output)"},
			&cli.StringFlag{Name: "target", Value: "ethos-u55-128", Usage: "default Ethos-U `TARGET`"},
			&cli.StringFlag{Name: "scheme", Value: "int8", Usage: "default global `SCHEME`: int8, int8-per-tensor or a16w8"},
			&cli.StringFlag{Name: "config", Usage: "default config `FILE`"},
			jobsFlag("models quantized in parallel"),
			&cli.Float64Flag{Name: "min-sqnr", Value: 10, Usage: minSQNRUsage},
			&cli.BoolFlag{Name: "json", Usage: "print the per-model reports as JSON instead of the table"},
			&cli.BoolFlag{Name: "verbose", Usage: "print each pass of each model as it runs"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print nothing but errors"},
		},
		Action: batchAction,
	}
}

// batchEntry is one manifest entry. calib takes a path or a list. The
// keys after output are quantize's per-model flags under their YAML names:
// min_sqnr overrides batch's --min-sqnr (a pointer, so an explicit 0 turns
// the check off), the rest default as the flags do.
type batchEntry struct {
	Model          string   `yaml:"model"`
	Calib          pathList `yaml:"calib"`
	Target         string   `yaml:"target"`
	Scheme         string   `yaml:"scheme"`
	Config         string   `yaml:"config"`
	Output         string   `yaml:"output"`
	MinSQNR        *float64 `yaml:"min_sqnr"`
	InputShape     pathList `yaml:"input_shape"`
	Observer       string   `yaml:"observer"`
	BiasCorrection bool     `yaml:"bias_correction"`
	Equalize       bool     `yaml:"equalize"`
	QAT            bool     `yaml:"qat"`
	TFLite         string   `yaml:"tflite"`
	TFLiteGrids    bool     `yaml:"tflite_grids"`
	CutFrom        pathList `yaml:"cut_from"`
	CutTo          pathList `yaml:"cut_to"`
	CalibFull      bool     `yaml:"calib_full"`
}

// entryKeys lists the manifest entry keys, for the unknown-key message.
const entryKeys = "model, calib, target, scheme, config, output, min_sqnr, input_shape, observer, bias_correction, " +
	"equalize, qat, tflite, tflite_grids, cut_from, cut_to, calib_full"

type manifestFile struct {
	Models []batchEntry `yaml:"models"`
}

// pathList reads a YAML string or list of strings.
type pathList []string

func (p *pathList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*p = []string{n.Value}
		return nil
	}
	var list []string
	if err := n.Decode(&list); err != nil {
		return err
	}
	*p = list
	return nil
}

// unknownField rewrites the YAML decoder's message about an unknown key.
var unknownField = regexp.MustCompile(`field (\S+) not found in type \S+`)

// readManifest parses a manifest strictly: unknown keys are errors.
func readManifest(path string) ([]batchEntry, error) {
	b, err := onnxio.ReadRegular(path, ethosu.MaxConfigBytes)
	if err != nil {
		return nil, fmt.Errorf("manifest %q: %w", path, err)
	}
	if err := ethosu.CheckYAML(b); err != nil {
		return nil, usagef("manifest %q: %v", path, err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, usagef("manifest %q: %v", path, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var entries []batchEntry
	if len(root.Content) > 0 && root.Content[0].Kind == yaml.SequenceNode {
		err = dec.Decode(&entries)
	} else {
		var mf manifestFile
		err = dec.Decode(&mf)
		entries = mf.Models
	}
	if err != nil && !errors.Is(err, io.EOF) {
		msg := unknownField.ReplaceAllString(err.Error(), `unknown key "$1"`)
		return nil, usagef("manifest %q: %s (entry keys: %s)", path, msg, entryKeys)
	}
	if len(entries) == 0 {
		return nil, usagef("manifest %q lists no models", path)
	}
	base := filepath.Dir(path)
	rel := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(base, p)
	}
	for i := range entries {
		e := &entries[i]
		e.Model, e.Config, e.Output, e.TFLite = rel(e.Model), rel(e.Config), rel(e.Output), rel(e.TFLite)
		for j := range e.Calib {
			e.Calib[j] = rel(e.Calib[j])
		}
	}
	return entries, nil
}

// batchJobs turns the command line into jobs, checking everything that is
// a usage error before any model runs.
func batchJobs(c *cli.Context) ([]quantizeJob, error) {
	var entries []batchEntry
	switch {
	case c.NArg() > 1:
		return nil, usagef("batch: expected one manifest, got %d arguments", c.NArg())
	case c.NArg() == 1 && c.String("glob") != "":
		return nil, usagef("batch: give a manifest or --glob, not both")
	case c.NArg() == 1:
		var err error
		if entries, err = readManifest(c.Args().First()); err != nil {
			return nil, err
		}
	case c.String("glob") != "":
		if len(c.StringSlice("calib")) == 0 || c.String("out-dir") == "" {
			return nil, usagef("batch --glob needs --calib and --out-dir")
		}
		models, err := filepath.Glob(c.String("glob"))
		if err != nil {
			return nil, usagef("--glob %q: %v", c.String("glob"), err)
		}
		if len(models) == 0 {
			return nil, usagef("--glob %q matches no file", c.String("glob"))
		}
		sort.Strings(models)
		for _, m := range models {
			entries = append(entries, batchEntry{Model: m, Calib: c.StringSlice("calib")})
		}
	default:
		return nil, usagef("batch: expected a manifest or --glob PATTERN")
	}
	jobs := make([]quantizeJob, len(entries))
	outputs := map[string]string{}
	for i, e := range entries {
		where := fmt.Sprintf("entry %d (%s)", i+1, e.Model)
		if e.Model == "" {
			return nil, usagef("entry %d: no model", i+1)
		}
		if len(e.Calib) == 0 {
			return nil, usagef("%s: no calib", where)
		}
		job := quantizeJob{In: e.Model, Out: e.Output, Calib: e.Calib, Target: e.Target, Scheme: e.Scheme, Config: e.Config, Workers: 1, MakeOutDir: true, MinSQNR: c.Float64("min-sqnr")}
		if err := e.applyOverrides(&job); err != nil {
			return nil, usagef("%s: %v", where, err)
		}
		if job.Target == "" {
			job.Target = c.String("target")
		}
		if job.Scheme == "" {
			job.Scheme = c.String("scheme")
		}
		if job.Config == "" {
			job.Config = c.String("config")
		}
		job.SchemeSet = e.Scheme != "" || c.IsSet("scheme")
		// Target, scheme and config-key mistakes are usage errors of the
		// whole batch, found before anything runs; other failures (a
		// config file that cannot be read) are the model's.
		scheme, err := onnxquant.CheckOptions(job.options())
		switch {
		case errors.Is(err, onnxquant.ErrInvalidOptions):
			return nil, usagef("%s: %v", where, err)
		case err == nil:
			job.Scheme = scheme
		}
		if job.Out == "" {
			if c.String("out-dir") == "" {
				return nil, usagef("%s: no output (give output or --out-dir)", where)
			}
			name := strings.TrimSuffix(filepath.Base(e.Model), filepath.Ext(e.Model))
			job.Out = filepath.Join(c.String("out-dir"), name+"_"+job.Scheme+".onnx")
		}
		key := filepath.Clean(job.Out)
		if prev, dup := outputs[key]; dup {
			return nil, usagef("%s and %s write the same output %q", prev, where, job.Out)
		}
		outputs[key] = where
		if job.TFLite != "" {
			key := filepath.Clean(job.TFLite)
			if prev, dup := outputs[key]; dup {
				return nil, usagef("%s and %s write the same output %q", prev, where, job.TFLite)
			}
			outputs[key] = where
		}
		jobs[i] = job
	}
	return jobs, nil
}

// applyOverrides sets the job's per-model options from the entry, checked
// as quantize checks its flags; an error is a usage error of the entry.
func (e batchEntry) applyOverrides(job *quantizeJob) error {
	if e.MinSQNR != nil {
		if *e.MinSQNR < 0 || math.IsNaN(*e.MinSQNR) || math.IsInf(*e.MinSQNR, 0) {
			return fmt.Errorf("min_sqnr %v: expected a number of dB, at least 0 (0 disables the check)", *e.MinSQNR)
		}
		job.MinSQNR = *e.MinSQNR
	}
	shapes, err := parseInputShapes(e.InputShape)
	if err != nil {
		return fmt.Errorf("input_shape %s", strings.TrimPrefix(err.Error(), "--input-shape "))
	}
	if len(shapes) > 0 {
		job.InputShapes = shapes
	}
	obs, err := quantize.ParseObserver(e.Observer)
	if err != nil {
		return err
	}
	job.Accuracy = quantize.Accuracy{Observer: obs, BiasCorrection: e.BiasCorrection, EqualizeCrossLayer: e.Equalize,
		TFLiteGrids: e.TFLiteGrids}
	job.QAT = e.QAT
	job.TFLite = e.TFLite
	job.Cut = cutSpec{From: splitNames(e.CutFrom), To: splitNames(e.CutTo), CalibFull: e.CalibFull}
	if e.CalibFull && len(job.Cut.From) == 0 {
		return fmt.Errorf("calib_full needs cut_from: without a cut the calibration data already are the model's inputs")
	}
	return nil
}

// splitNames reads tensor names given as a list or comma-separated, as the
// --cut-from and --cut-to flags take them.
func splitNames(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, name := range strings.Split(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				out = append(out, name)
			}
		}
	}
	return out
}

// batchResult is one model's outcome.
type batchResult struct {
	report *quantizeReport
	err    error
}

func batchAction(c *cli.Context) error {
	jobs, err := batchJobs(c)
	if err != nil {
		return err
	}
	// No entry's output may be any entry's input, nor two outputs one file
	// (through a symlinked folder, say), nor the manifest.
	var plan pathPlan
	for _, job := range jobs {
		plan.write(fmt.Sprintf("output of %s", job.In), job.Out)
		plan.write(fmt.Sprintf("tflite of %s", job.In), job.TFLite)
	}
	plan.read("manifest", c.Args().First())
	for _, job := range jobs {
		plan.readModel("model", job.In)
		plan.read("calibration data", job.Calib...)
		plan.read("config", job.Config)
	}
	if err := plan.check(); err != nil {
		return err
	}
	if dir := c.String("out-dir"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("--out-dir: %w", err)
		}
	}
	// Manifest outputs may name folders that do not exist yet: make them
	// all before any model runs, so parallel models never race on them.
	for _, j := range jobs {
		for _, out := range []string{j.Out, j.TFLite} {
			if out == "" {
				continue
			}
			if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
				return fmt.Errorf("output %q: %w", out, err)
			}
		}
	}
	results := make([]batchResult, len(jobs))
	quiet, verbose := c.Bool("quiet"), c.Bool("verbose")
	stderr := c.App.ErrWriter
	var (
		mu      sync.Mutex
		done    int
		next    = make(chan int)
		wg      sync.WaitGroup
		running = map[int]bool{}
	)
	out := newProgress(stderr)
	var progress func(done, total int)
	if !quiet {
		// Called with mu held, like running's updates.
		progress = out.counter("batch", "models", func() string {
			var names []string
			for i := range jobs {
				if running[i] {
					names = append(names, jobs[i].In)
				}
			}
			if len(names) == 0 {
				return ""
			}
			return "running: " + strings.Join(names, ", ")
		})
		progress(0, len(jobs))
	}
	workers := min(max(c.Int("jobs"), 1), len(jobs))
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				job := jobs[i]
				mu.Lock()
				running[i] = true
				if progress != nil {
					progress(done, len(jobs))
				}
				mu.Unlock()
				if verbose {
					job.Log = func(s string) {
						mu.Lock()
						defer mu.Unlock()
						fmt.Fprintf(stderr, "%s: %s\n", job.In, printableLines(s))
					}
				}
				rep, err := quantizeToFile(c.Context, job)
				mu.Lock()
				results[i] = batchResult{report: rep, err: err}
				done++
				delete(running, i)
				switch {
				case err != nil:
					out.println(fmt.Sprintf("[%d/%d] FAILED %s: %v", done, len(jobs), job.In, err))
				case !quiet:
					out.println(fmt.Sprintf("[%d/%d] ok %s -> %s (%.0f ms)", done, len(jobs), job.In, job.Out, rep.TimingsMS["total"]))
				}
				if progress != nil {
					progress(done, len(jobs))
				}
				mu.Unlock()
			}
		}()
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()
	failed := 0
	for _, r := range results {
		if r.err != nil {
			failed++
		}
	}
	switch {
	case c.Bool("json"):
		reps := make([]*quantizeReport, len(results))
		for i, r := range results {
			reps[i] = r.report
		}
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		if err := enc.Encode(reps); err != nil {
			return err
		}
	case !quiet:
		printBatchTable(c.App.Writer, jobs, results)
	}
	if failed > 0 {
		return fmt.Errorf("batch: %d of %d model(s) failed", failed, len(jobs))
	}
	return nil
}

// printBatchTable writes one row per model, in manifest order.
func printBatchTable(w io.Writer, jobs []quantizeJob, results []batchResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tSTATUS\tTARGET\tSCHEME\tPOINTS\tSAMPLES\tTIME\tOUTPUT / ERROR")
	ok := 0
	for i, r := range results {
		j := jobs[i]
		if r.err != nil {
			msg, _, _ := strings.Cut(r.err.Error(), "\n")
			fmt.Fprintf(tw, "%s\tFAILED\t%s\t%s\t-\t-\t-\t%s\n", j.In, j.Target, j.Scheme, msg)
			continue
		}
		ok++
		fmt.Fprintf(tw, "%s\tok\t%s\t%s\t%d\t%d\t%.0f ms\t%s\n", j.In, j.Target, j.Scheme, r.report.Points, r.report.Samples, r.report.TimingsMS["total"], j.Out)
	}
	tw.Flush()
	fmt.Fprintf(w, "%d model(s): %d ok, %d failed\n", len(results), ok, len(results)-ok)
}
