package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/onnxquant/onnxquant/calib"
	"github.com/onnxquant/onnxquant/calib/dataset"
	"github.com/onnxquant/onnxquant/calib/interp"
	"github.com/onnxquant/onnxquant/lower"
)

func calibrateCommand() *cli.Command {
	cmd := &cli.Command{
		Name:  "calibrate",
		Usage: "observe every float activation of a model over calibration data and write the observer states as JSON",
		Description: "With MODEL, runs every sample of --calib through the float interpreter, feeding one\n" +
			"histogram observer per float value of every (sub)module, and fails when a conditional\n" +
			"submodule is reached by no sample (unless --shard). With --merge, the arguments are\n" +
			"stats files of the same model and plan (shards), merged exactly into one.",
		ArgsUsage: "MODEL | --merge STATS.json...",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "calib", Usage: "calibration `PATH` (.npy, .npz, sample folder or folder of samples); repeatable"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "stats `FILE` (JSON)", Required: true},
			&cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, Value: 1, Usage: "worker threads; results do not depend on it"},
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
	if c.Int("jobs") < 1 {
		return usagef("--jobs %d: expected at least 1", c.Int("jobs"))
	}
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
	gm, err := lower.LoadFile(path)
	if err != nil {
		return nil, err
	}
	setLimits(gm, limits)
	specs, err := calib.ModelInputSpecs(gm)
	if err != nil {
		return nil, fmt.Errorf("model %q: %w", path, err)
	}
	set, err := dataset.Open(c.StringSlice("calib"), specs)
	if err != nil {
		return nil, err
	}
	ctx := c.Context
	if ctx == nil {
		ctx = context.Background()
	}
	// Bind dynamic sizes from the data and drop the shape-check branches
	// no input shape can take, as quantize does. Shards to be merged must
	// hold samples of the same input shapes so their graphs agree.
	if _, err := calib.Specialize(ctx, gm, set); err != nil {
		return nil, fmt.Errorf("model %q: %w", path, err)
	}
	// Samples run in parallel; threads left over when there are fewer
	// samples than threads go to the kernels.
	jobs := c.Int("jobs")
	workers := min(jobs, set.Len())
	it, err := interp.New(gm, interp.Options{Workers: max(jobs/max(workers, 1), 1)})
	if err != nil {
		return nil, fmt.Errorf("model %q: %w", path, err)
	}
	opts := calib.Options{Workers: workers}
	if !c.Bool("quiet") {
		opts.Progress = progressPrinter(c.App.ErrWriter, "calibrate")
	}
	reqs := calib.AllActivations(gm)
	var st *calib.Stats
	if c.Bool("shard") {
		st, err = calib.Observe(ctx, it, set, reqs, opts)
	} else {
		st, err = calib.Calibrate(ctx, it, set, reqs, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("model %q: %w", path, err)
	}
	return st, nil
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
