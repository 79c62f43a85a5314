package ethosu_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
	"github.com/onnxquant/onnxquant/quantize"
)

// cancelInside is a context that reports itself cancelled once it has
// been polled `after` times since it was armed: armed at the start of one
// stage, it is cancelled in the middle of that stage's work, whatever the
// machine's speed.
type cancelInside struct {
	context.Context
	armed atomic.Bool
	polls atomic.Int64
	after int64
}

func (c *cancelInside) Err() error {
	if c.armed.Load() && c.polls.Add(1) > c.after {
		return context.Canceled
	}
	return nil
}

// TestInterruptStopsInsideEachLongStage: an interrupt that arrives while a
// stage works through a 4,000-node chain ends that stage itself (the
// error names it and wraps context.Canceled), not the run after the stage
// completes: shape inference, constant folding, the transform passes,
// the legality checks, annotation, Q/DQ conversion and raising all poll
// the context inside their loops.
func TestInterruptStopsInsideEachLongStage(t *testing.T) {
	dir := t.TempDir()
	sample := filepath.Join(dir, "x.npy")
	if err := dataset.WriteNPY(sample, tensor.New(tensor.WithShape(1, 8), tensor.WithBacking([]float32{1, 2, 3, 4, -1, -2, -3, -4}))); err != nil {
		t.Fatal(err)
	}
	m := testmodel.Chain(4000)
	run := func(ctx context.Context, stages func(string, int, int), log func(string)) error {
		gm, err := lower.Lower(proto.Clone(m).(*onnxpb.ModelProto), dir)
		if err != nil {
			t.Fatal(err)
		}
		set, err := dataset.Open([]string{sample}, dataset.InputSpecs(gm))
		if err != nil {
			t.Fatal(err)
		}
		q := ethosu.NewEthosUQuantizer(ethosu.MustCompileSpec("ethos-u55-128"))
		q.Stages, q.Log = stages, log
		_, err = q.QuantizeWithSubmodules(ctx, gm, set, false)
		return err
	}
	// The stages that run, in order, from an uninterrupted run.
	var order []string
	if err := run(context.Background(), nil, func(l string) {
		if name, ok := strings.CutPrefix(l, "stage "); ok {
			name, _, _ = strings.Cut(name, ":")
			order = append(order, name)
		}
	}); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"bind-shapes", "fold-shape-arithmetic", "transform", "size-new-tensors", "precheck", "annotate", "convert", "check", "raise"} {
		t.Run(target, func(t *testing.T) {
			k := -1
			for i, name := range order {
				if name == target {
					k = i
				}
			}
			if k < 0 {
				t.Fatalf("stage %s did not run (ran %v)", target, order)
			}
			ctx := &cancelInside{Context: context.Background(), after: 100}
			var finished []string
			err := run(ctx, func(stage string, done, _ int) {
				if stage != "" {
					finished = append(finished, stage)
				}
				if done == k { // the target stage starts now
					ctx.armed.Store(true)
				}
			}, nil)
			var se *quantize.StageError
			if !errors.Is(err, context.Canceled) || !errors.As(err, &se) || se.Stage != target {
				t.Fatalf("err = %v, want context.Canceled from inside stage %s (stages finished: %v)", err, target, finished)
			}
			if got := len(finished); got != k {
				t.Errorf("%d stages finished, want the %d before %s: %v", got, k, target, finished)
			}
		})
	}
}
