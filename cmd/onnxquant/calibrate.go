package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/onnxquant/onnxquant"
	"github.com/onnxquant/onnxquant/calib"
	"github.com/onnxquant/onnxquant/quantize"
)

func calibrateCommand() *cli.Command {
	cmd := &cli.Command{
		Name:  "calibrate",
		Usage: "observe what quantize would over calibration data and write the observer states as JSON, for quantize --stats",
		Description: "With MODEL, prepares the model as quantize does for --target, --scheme and --config,\n" +
			"runs every sample of --calib through the float interpreter feeding the observers\n" +
			"quantize would, and fails when a conditional submodule is reached by no sample (unless\n" +
			"--shard). With --merge, the arguments are stats files of the same model and plan\n" +
			"(shards), merged exactly into one. quantize --stats STATS.json quantizes from them\n" +
			"without the samples, giving the same model as one run over all of the data.",
		ArgsUsage: "MODEL | --merge STATS.json...",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "calib", Usage: "calibration `PATH` (.npy, .npz, sample folder or folder of samples); repeatable"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "stats `FILE` (JSON)", Required: true},
			jobsFlag("worker threads; results do not depend on it"),
			&cli.StringFlag{Name: "target", Value: "ethos-u55-128", Usage: "Ethos-U `TARGET` the stats are for"},
			&cli.StringFlag{Name: "scheme", Value: "int8", Usage: "global `SCHEME` the stats are for"},
			&cli.StringFlag{Name: "config", Usage: "config `FILE` the stats are for"},
			&cli.BoolFlag{Name: "qat", Usage: "the model carries QAT QuantizeLinear/DequantizeLinear pairs"},
			&cli.StringFlag{Name: "observer", Value: "histogram", Usage: "activation range `RULE` the stats are for: histogram or minmax (auto needs the samples themselves)"},
			&cli.BoolFlag{Name: "equalize", Usage: "cross-layer equalization before annotation, as quantize --equalize"},
			&cli.StringSliceFlag{Name: "input-shape", Usage: "fix input `NAME=D,D,...` to a static shape; repeatable"},
			&cli.BoolFlag{Name: "merge", Usage: "merge the stats files given as arguments"},
			&cli.BoolFlag{Name: "shard", Usage: "this is one shard of the data: check path coverage when merging, not now"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print nothing but errors"},
		},
		Action: calibrateAction,
	}
	cmd.Flags = append(cmd.Flags, limitFlags()...)
	return cmd
}

func calibrateAction(c *cli.Context) error {
	var (
		st  *calib.Stats
		err error
	)
	var plan pathPlan
	plan.write("output", c.String("output"))
	if c.Bool("merge") {
		plan.read("stats file", c.Args().Slice()...)
	} else {
		plan.readModel("model", c.Args().First())
		plan.read("calibration data", c.StringSlice("calib")...)
	}
	if err := plan.check(); err != nil {
		return err
	}
	if c.Bool("merge") {
		if c.IsSet("calib") {
			return usagef("calibrate: --merge takes stats files, not --calib")
		}
		if c.NArg() < 1 {
			return usagef("calibrate --merge: expected one or more stats files")
		}
		st, err = mergeStats(c.Args().Slice(), c.Bool("shard"))
	} else {
		if err := onlyArgs(c, 1, "one model file"); err != nil {
			return err
		}
		if len(c.StringSlice("calib")) == 0 {
			return usagef("calibrate: --calib is required (calibration data)")
		}
		st, err = calibrateModel(c)
	}
	if err != nil {
		return err
	}
	out := c.String("output")
	if c.Context != nil && c.Context.Err() != nil {
		return c.Context.Err()
	}
	if err := st.Save(out); err != nil {
		return err
	}
	if !c.Bool("quiet") {
		fmt.Fprintf(c.App.Writer, "wrote %s: %d samples, %d observers, %d conditional submodule(s)\n",
			out, st.Samples, len(st.Observers), len(st.Coverage))
	}
	return nil
}

func calibrateModel(c *cli.Context) (*calib.Stats, error) {
	path := c.Args().First()
	limits, err := limitsOf(c)
	if err != nil {
		return nil, err
	}
	shapes, err := parseInputShapes(c.StringSlice("input-shape"))
	if err != nil {
		return nil, err
	}
	obs, err := quantize.ParseObserver(c.String("observer"))
	if err != nil {
		return nil, &usageError{msg: err.Error()}
	}
	opts := onnxquant.Options{
		Accuracy: quantize.Accuracy{Observer: obs, EqualizeCrossLayer: c.Bool("equalize")},
		Target:   c.String("target"), Scheme: c.String("scheme"), SchemeExplicit: c.IsSet("scheme"), ConfigFile: c.String("config"),
		QAT: c.Bool("qat"), InputShapes: shapes, Calib: c.StringSlice("calib"), Workers: c.Int("jobs"), Limits: limits,
	}
	if !c.Bool("quiet") {
		p := newProgress(c.App.ErrWriter)
		opts.Progress = p.counter("calibrate", "samples", nil)
		opts.ShapeProgress = p.counter("bind-shapes", "samples", nil)
	}
	st, res, err := onnxquant.Calibrate(c.Context, path, opts, c.Bool("shard"))
	if res != nil && !c.Bool("quiet") {
		for _, n := range res.Notes {
			fmt.Fprintf(c.App.ErrWriter, "note: %s\n", n)
		}
	}
	return st, err
}

// mergeStats merges stats files in argument order and, unless the result
// is itself a shard, checks that every conditional path was reached.
func mergeStats(paths []string, shard bool) (*calib.Stats, error) {
	var st *calib.Stats
	for _, p := range paths {
		s, err := calib.Load(p)
		if err != nil {
			return nil, err
		}
		if st == nil {
			st = s
			continue
		}
		if err := st.Merge(s); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
	}
	if !shard {
		if err := st.CheckCoverage(nil); err != nil {
			return nil, fmt.Errorf("merged stats: %w", err)
		}
	}
	return st, nil
}
