package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"
	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/internal/interp"
	"github.com/onnxquant/onnxquant/internal/onnxdense"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// cutFlags are the flags that select a sub-model (quantize and convert).
func cutFlags(withCalib bool) []cli.Flag {
	fs := []cli.Flag{
		&cli.StringSliceFlag{Name: "cut-from", Usage: "start the model at `TENSOR`s (comma-separated or repeated): they become its inputs, and what computes them is left to the host"},
		&cli.StringSliceFlag{Name: "cut-to", Usage: "end the model at `TENSOR`s (comma-separated or repeated): they become its outputs"},
	}
	if withCalib {
		fs = append(fs, &cli.BoolFlag{Name: "calib-full", Usage: "with --cut-from: the calibration data are for the original model's inputs; its float prefix computes the cut's inputs"})
	}
	return fs
}

// cutSpec is a sub-model selection; empty when the whole model is meant.
type cutSpec struct {
	From, To  []string
	CalibFull bool
}

func (c cutSpec) active() bool { return len(c.From) > 0 || len(c.To) > 0 }

func cutFromFlags(c *cli.Context) (cutSpec, error) {
	cs := cutSpec{From: commaList(c.StringSlice("cut-from")), To: commaList(c.StringSlice("cut-to"))}
	if c.Command.Name == "quantize" {
		cs.CalibFull = c.Bool("calib-full")
		if cs.CalibFull && len(cs.From) == 0 {
			return cs, usagef("--calib-full needs --cut-from: without a cut the calibration data already are the model's inputs")
		}
	}
	return cs, nil
}

// modelSource is the float model a quantize job works on: the input file,
// or a cut of it, with the calibration data for its inputs.
type modelSource struct {
	path  string             // the input file, for messages
	model *onnxpb.ModelProto // the cut model; nil means the file itself
	dir   string             // where external data is resolved
	calib []string           // calibration paths for the model's inputs
	temp  string             // folder of computed calibration data, removed by close
	// limits are the command's budgets, for the models it lowers and the
	// samples it reads.
	limits onnxio.Limits
}

// lower lowers a fresh copy of the source model.
func (s *modelSource) lower() (*lower.GraphModule, error) {
	if s.model == nil {
		gm, err := lower.LoadFile(s.path)
		if err != nil {
			return nil, err
		}
		setLimits(gm, s.limits)
		return gm, nil
	}
	gm, err := lower.Lower(s.model, s.dir)
	if err != nil {
		return nil, fmt.Errorf("model %q (cut): %w", s.path, err)
	}
	setLimits(gm, s.limits)
	return gm, nil
}

func (s *modelSource) close() {
	if s.temp != "" {
		os.RemoveAll(s.temp)
	}
}

// prepareSource reads and cuts the job's model. With CalibFull, each
// calibration sample is run through the float prefix that computes the
// cut's inputs, and the results are written as test_data_set folders in a
// temporary folder (tensor names can hold any character, which .npy file
// names could not).
func prepareSource(ctx context.Context, job quantizeJob) (*modelSource, error) {
	src := &modelSource{path: job.In, dir: filepath.Dir(job.In), calib: job.Calib, limits: job.Limits}
	if !job.Cut.active() {
		return src, nil
	}
	m, err := onnxio.Load(job.In)
	if err != nil {
		return nil, err
	}
	if err := m.LoadExternalData(); err != nil {
		return nil, err
	}
	src.dir = m.Dir
	if src.model, err = lower.Cut(m.Proto, m.Dir, job.Cut.From, job.Cut.To); err != nil {
		return nil, fmt.Errorf("model %q: %w", job.In, err)
	}
	if !job.Cut.CalibFull {
		return src, nil
	}
	prefix, err := lower.Cut(m.Proto, m.Dir, nil, job.Cut.From)
	if err != nil {
		return nil, fmt.Errorf("model %q: the prefix before the cut: %w", job.In, err)
	}
	full, err := lower.Lower(m.Proto, m.Dir)
	if err != nil {
		return nil, fmt.Errorf("model %q: %w", job.In, err)
	}
	pgm, err := lower.Lower(prefix, m.Dir)
	if err != nil {
		return nil, fmt.Errorf("model %q: the prefix before the cut: %w", job.In, err)
	}
	setLimits(pgm, job.Limits)
	it, err := interp.New(pgm, interp.Options{Workers: max(job.Workers, 1)})
	if err != nil {
		return nil, fmt.Errorf("model %q: the prefix before the cut: %w", job.In, err)
	}
	set, err := dataset.OpenSamples(job.Calib, dataset.InputSpecs(full), dataset.Options{SplitBatches: true, Limits: job.Limits})
	if err != nil {
		return nil, err
	}
	if src.temp, err = os.MkdirTemp("", "onnxquant-cut-"); err != nil {
		return nil, err
	}
	src.calib = []string{src.temp}
	var cutInputs []string
	for _, vi := range src.model.Graph.Input {
		cutInputs = append(cutInputs, vi.GetName())
	}
	prefixIn := map[string]bool{}
	for _, vi := range prefix.Graph.Input {
		prefixIn[vi.GetName()] = true
	}
	for i := 0; i < set.Len(); i++ {
		smp, err := set.Load(i)
		if err != nil {
			src.close()
			return nil, err
		}
		feed := map[string]*tensor.Dense{}
		for name, t := range smp.Inputs {
			if prefixIn[name] {
				feed[name] = t
			}
		}
		outs, err := it.Run(ctx, feed, nil)
		if err != nil {
			src.close()
			return nil, fmt.Errorf("sample %q: the float prefix before the cut: %w", smp.Name, err)
		}
		dir := filepath.Join(src.temp, fmt.Sprintf("test_data_set_%d", i))
		if err := os.Mkdir(dir, 0o755); err != nil {
			src.close()
			return nil, err
		}
		for k, name := range cutInputs {
			t := outs[name]
			if t == nil {
				t = smp.Inputs[name]
			}
			if t == nil {
				src.close()
				return nil, fmt.Errorf("sample %q: no value for the cut's input %q", smp.Name, name)
			}
			if err := writeTensorProto(filepath.Join(dir, fmt.Sprintf("input_%d.pb", k)), name, t); err != nil {
				src.close()
				return nil, err
			}
		}
	}
	return src, nil
}

func writeTensorProto(path, name string, t *tensor.Dense) error {
	tp, err := onnxdense.FromDense(name, t)
	if err != nil {
		return fmt.Errorf("tensor %q: %w", name, err)
	}
	b, err := proto.Marshal(tp)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// commaList splits every value at its commas (the command line turns the
// slice flags' own splitting off, for paths): --cut-to a,b is --cut-to a
// --cut-to b. Empty items are dropped.
func commaList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, item := range strings.Split(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
	}
	return out
}
