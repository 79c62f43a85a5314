package main

import (
	"context"

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

// interruptOf is the poll the long loops over a model call (see
// lower.GraphModule.Interrupt): the command's context's Err, so Ctrl-C
// ends a command inside its work, not after it. Nil without a context.
func interruptOf(ctx context.Context) func() error {
	if ctx == nil {
		return nil
	}
	return ctx.Err
}
