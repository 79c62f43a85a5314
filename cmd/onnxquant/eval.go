package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/onnxquant/onnxquant"
	"github.com/onnxquant/onnxquant/internal/evaluate"
	"github.com/onnxquant/onnxquant/onnxio"
)

func evalCommand() *cli.Command {
	return &cli.Command{
		Name:  "eval",
		Usage: "compare a quantized model with its float model: per-output and per-layer SQNR, errors, decision agreement",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "float", Usage: "float model `FILE`", Required: true},
			&cli.StringFlag{Name: "quant", Usage: "quantized QDQ model `FILE` made from it", Required: true},
			&cli.StringSliceFlag{Name: "data", Usage: "samples `PATH` (.npy, .npz, sample folder or folder of samples); repeatable", Required: true},
			&cli.IntFlag{Name: "top", Value: 10, Usage: "show the `N` worst layers (0: all)"},
			&cli.Float64Flag{Name: "threshold", Value: 0.5, Usage: "decision `THRESHOLD` for outputs in [0, 1]"},
			&cli.Float64Flag{Name: "hint-below", Value: 30, Usage: "propose a16w8 for modules with an int8 activation under `DB` dB"},
			jobsFlag("samples evaluated in parallel"),
			&cli.BoolFlag{Name: "any-source", Usage: "compare even when --float is not the file --quant records as its source (an export of the same weights)"},
			&cli.BoolFlag{Name: "sensitivity", Usage: "rank the hints by the worst output's SQNR gained when only that module (or node) moves to a16w8 (needs --calib), or, where the target forbids it or without --calib, when that tensor alone is left float (a diagnostic)"},
			&cli.StringSliceFlag{Name: "calib", Usage: "calibration `PATH` with --sensitivity: the float model is quantized again on it (target and scheme as --quant records them), once per hinted module or node moved to a16w8; repeatable"},
			&cli.BoolFlag{Name: "json", Usage: "print the full report as JSON"},
			&cli.StringFlag{Name: "csv", Usage: "write the per-layer table (every layer) as CSV to `FILE`"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print no progress"},
		},
		Action: func(c *cli.Context) error {
			if err := onlyArgs(c, 0, "no positional arguments (use --float, --quant and --data)"); err != nil {
				return err
			}
			if c.Int("top") < 0 {
				return usagef("--top %d: expected 0 or more", c.Int("top"))
			}
			if err := onnxquant.CheckSource(c.String("float"), c.String("quant"), c.Bool("any-source")); err != nil {
				return err
			}
			opts := evaluate.Options{Workers: c.Int("jobs"), Threshold: float32(c.Float64("threshold")), HintBelow: c.Float64("hint-below"), Sensitivity: c.Bool("sensitivity")}
			if calib := c.StringSlice("calib"); len(calib) > 0 {
				if !opts.Sensitivity {
					return usagef("--calib needs --sensitivity: the samples are for quantizing the model again with each hint applied")
				}
				p, err := newEvalPromoter(c, calib)
				if err != nil {
					return err
				}
				opts.Promoter, opts.MaxHints = p, 6
			}
			if !c.Bool("quiet") {
				opts.Progress = newProgress(c.App.ErrWriter).counter("eval", "samples", nil)
			}
			rep, err := evaluate.EvaluateFiles(c.Context, c.String("float"), c.String("quant"), c.StringSlice("data"), opts)
			if err != nil {
				return err
			}
			if path := c.String("csv"); path != "" {
				if err := writeLayersCSV(path, rep); err != nil {
					return err
				}
			}
			if c.Bool("json") {
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			printEvalSummary(c.App.Writer, rep, c.Int("top"))
			return nil
		},
	}
}

// newEvalPromoter quantizes the --float model again, for the sensitivity
// ranking, with the target and scheme --quant records.
func newEvalPromoter(c *cli.Context, calib []string) (*onnxquant.Promoter, error) {
	qm, err := onnxio.Load(c.String("quant"))
	if err != nil {
		return nil, err
	}
	meta := onnxquant.Provenance(qm.Proto)
	target, scheme := meta[onnxquant.MetaTarget], meta[onnxquant.MetaScheme]
	if target == "" || scheme == "" {
		return nil, fmt.Errorf("--quant %q does not record the target and scheme it was quantized for (not made by onnxquant?): --sensitivity --calib cannot quantize it again", c.String("quant"))
	}
	if meta[onnxquant.MetaConfigSHA256] != "" {
		return nil, fmt.Errorf("--quant %q was quantized with a config file, which eval cannot apply again: measure its hints with quantize --config instead, or drop --calib for the float diagnostic", c.String("quant"))
	}
	return onnxquant.NewPromoter(c.String("float"), onnxquant.Options{Target: target, Scheme: scheme, Calib: calib, Workers: c.Int("jobs")})
}

// writeLayersCSV writes every compared layer, worst first, as CSV: one
// header row, then one row per layer. An infinite SQNR (identical
// tensors) is an empty sqnr_db with sqnr_infinite true.
func writeLayersCSV(path string, rep *evaluate.Report) error {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"tensor", "submodule", "module", "kind", "bits", "sqnr_db", "sqnr_infinite", "max_abs_error", "count"})
	for _, l := range rep.Layers {
		sqnr := ""
		if f := float64(l.SQNR); !math.IsInf(f, 0) && !math.IsNaN(f) {
			sqnr = strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64)
		}
		w.Write([]string{l.Name, l.Submodule, l.Module, l.Kind, strconv.Itoa(l.Bits), sqnr, strconv.FormatBool(l.SQNRInfinite),
			strconv.FormatFloat(l.MaxAbsError, 'g', -1, 64), strconv.Itoa(l.Count)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	return writeFileAtomic(path, buf.Bytes())
}

// printEvalSummary writes the outputs, the top worst layers (all when top
// is 0) and the a16w8 hints as text.
func printEvalSummary(w io.Writer, rep *evaluate.Report, top int) {
	fmt.Fprintf(w, "%d samples\n", rep.Samples)
	for _, o := range rep.Outputs {
		fmt.Fprintf(w, "output %s: SQNR %s, max abs error %.4g", printable(o.Name), o.SQNR, o.MaxAbsError)
		if o.ArgmaxAgreement != nil {
			fmt.Fprintf(w, ", argmax agreement %.1f%%", 100**o.ArgmaxAgreement)
		}
		if o.ThresholdAgreement != nil {
			fmt.Fprintf(w, ", threshold agreement %.1f%%", 100**o.ThresholdAgreement)
		}
		fmt.Fprintln(w)
	}
	layers := rep.Layers
	if top > 0 && len(layers) > top {
		layers = layers[:top]
	}
	if len(layers) > 0 {
		fmt.Fprintf(w, "layers, worst first (%d of %d):\n", len(layers), len(rep.Layers))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  SQNR\tLOCAL\tOUT OF RANGE\tMAX ERR\tBITS\tKIND\tMODULE\tTENSOR")
		for _, l := range layers {
			name := l.Name
			if l.Submodule != "" {
				name = l.Submodule + ":" + name
			}
			module := l.Module
			if module == "" {
				module = "-"
			}
			local, out := "-", "-"
			if l.LocalSQNR != nil {
				local, out = l.LocalSQNR.String(), fmt.Sprintf("%.2g%%", 100*l.OutOfRange)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%.4g\t%d\t%s\t%s\t%s\n", l.SQNR, local, out, l.MaxAbsError, l.Bits, l.Kind, printable(module), printable(name))
		}
		tw.Flush()
	}
	for _, h := range rep.Hints {
		where := "module " + printable(h.Module)
		if h.Module == "" {
			where = "node " + printable(h.Node)
		}
		gain := ""
		switch {
		case h.PromotionGain != nil:
			gain = fmt.Sprintf(" (moved to a16w8 with %s, the worst output gains %s)", printable(strings.Join(h.PromotionConfig, ", ")), *h.PromotionGain)
		case h.Forbidden != "" && h.FloatGain != nil:
			gain = fmt.Sprintf(" (the target forbids a16w8 there: %s; diagnostic: left float, the worst output gains %s)", printable(h.Forbidden), *h.FloatGain)
		case h.FloatGain != nil:
			gain = fmt.Sprintf(" (left float, the worst output gains %s)", *h.FloatGain)
		}
		fmt.Fprintf(w, "hint: %s loses the most on its own (tensor %s, local SQNR %s, %.2g%% out of the calibrated range)%s; try int16 activations there: config %s\n",
			where, printable(h.Tensor), h.WorstSQNR, 100*h.OutOfRange, gain, printable(h.Config))
	}
}
