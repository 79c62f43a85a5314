package main

import (
	"github.com/urfave/cli/v2"

	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio"
)

// limitFlags are the budgets of the commands that run or fold a model.
func limitFlags() []cli.Flag {
	return []cli.Flag{
		&cli.Int64Flag{Name: "max-tensor-bytes", Value: onnxio.DefaultMaxTensorBytes,
			Usage: "refuse a model that would make any one tensor larger than `BYTES`"},
		&cli.Int64Flag{Name: "max-loop-trips", Value: onnxio.DefaultMaxLoopTrips,
			Usage: "refuse a Loop that would run more than `N` iterations"},
	}
}

// limitsOf reads limitFlags; values below 1 are usage errors.
func limitsOf(c *cli.Context) (onnxio.Limits, error) {
	l := onnxio.Limits{MaxTensorBytes: c.Int64("max-tensor-bytes"), MaxLoopTrips: c.Int64("max-loop-trips")}
	if l.MaxTensorBytes < 1 || l.MaxLoopTrips < 1 {
		return l, usagef("--max-tensor-bytes and --max-loop-trips must be at least 1")
	}
	return l, nil
}

// setLimits applies budgets to a loaded model (zero fields keep defaults).
func setLimits(gm *lower.GraphModule, l onnxio.Limits) {
	gm.Limits = l.WithDefaults()
}
