package onnxquant

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/onnxquant/onnxquant/calib"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/quantize"
)

// Calibrate observes the quantizer's own plan (the observers quantize
// would feed) over the samples of opts and returns the stats, for
// Options.StatsFile. With shard, the samples are one part of the data:
// paths no sample of the part takes are checked when the parts are
// merged (calib.Stats.Merge), not now. Shards merged give exactly the
// stats of one run over all the data, and quantizing from them the same
// model, byte for byte.
//
// The stats record what they belong to: the source model's SHA-256, the
// target, scheme, config digest, QAT and the input shapes. A model with
// dynamic input sizes is fixed to the shapes its samples bind (all
// samples must agree), as --input-shape would, so that quantizing from
// the stats needs no samples to size it.
func Calibrate(ctx context.Context, in string, opts Options, shard bool) (*calib.Stats, *Result, error) {
	m, err := onnxio.Load(in)
	if err != nil {
		return nil, nil, err
	}
	src, err := loadAndDigest(m, in)
	if err != nil {
		return nil, nil, err
	}
	if err := statsMethods(opts); err != nil {
		return nil, nil, err
	}
	j, err := prepare(m.Proto, m.Dir, in, src, opts)
	if err != nil {
		return nil, j.res, err
	}
	set, err := j.openSamples()
	if err != nil {
		return nil, j.res, err
	}
	if dyn := calib.DynamicInputs(j.gm); len(dyn) > 0 {
		fixed := map[string][]int64{}
		for name := range dyn {
			sh := j.res.InputShapes[name]
			if sh == nil {
				return nil, j.res, fmt.Errorf("model %q: input %q: stats need one shape per input, and the samples give several (or come from memory); fix it with --input-shape", in, name)
			}
			for _, d := range sh {
				fixed[name] = append(fixed[name], int64(d))
			}
		}
		if err := calib.FixInputShapes(j.gm, fixed); err != nil {
			return nil, j.res, err
		}
	}
	var stages []quantize.Stage
	for _, st := range quantize.Stages() {
		if st.Name == "calibrate" {
			if shard {
				st.Doc, st.Run = observeShardDoc, observeShard
			}
			stages = append(stages, st)
			break
		}
		stages = append(stages, st)
	}
	qr, err := j.run(ctx, set, stages)
	if err != nil {
		return nil, j.res, err
	}
	if qr.Stats == nil {
		return nil, j.res, fmt.Errorf("model %q: no calibration ran (the options pick no observers to merge)", in)
	}
	qr.Stats.Source = statsSource(j, inputShapes(j.gm))
	return qr.Stats, j.res, nil
}

const observeShardDoc = `Run this shard's samples through the float model and feed the observers.

Paths no sample of the shard takes are checked when the shards are merged.`

func observeShard(ctx context.Context, s *quantize.Session) error {
	var err error
	s.Stats, err = calib.Observe(ctx, s.Module, s.Samples, s.Requests, calib.Options{Workers: s.Options.Workers, Progress: s.Options.Progress})
	return err
}

// statsSource is what stats are made for, under the provenance keys.
func statsSource(j *job, shapes string) map[string]string {
	src := map[string]string{
		"onnxquant.version":  Version,
		MetaTarget:           j.res.Target,
		MetaScheme:           j.res.Scheme,
		MetaQAT:              strconv.FormatBool(j.opts.QAT),
		MetaSourceSHA256:     j.src[""],
		MetaInputShapes:      shapes,
		MetaConfigSHA256:     j.configDigest,
		"onnxquant.observer": observerOf(j.opts),
		"onnxquant.equalize": strconv.FormatBool(j.opts.Accuracy.EqualizeCrossLayer),
	}
	var ext []string
	for _, f := range slices.Sorted(maps.Keys(j.src)) {
		if f != "" {
			ext = append(ext, f+"="+j.src[f])
		}
	}
	src[MetaSourceExternal] = strings.Join(ext, ";")
	return src
}

// inputShapes formats the graph inputs' shapes as the metadata does:
// "x=1,3,32,32;y=1,4".
func inputShapes(gm *lower.GraphModule) string {
	var parts []string
	for _, p := range gm.Graph.Placeholders() {
		v := p.Outputs[0]
		dims := make([]string, len(v.Shape))
		for i, d := range v.Shape {
			if d.Known() {
				dims[i] = strconv.FormatInt(d.Value, 10)
			} else {
				dims[i] = "?"
			}
		}
		parts = append(parts, v.Name+"="+strings.Join(dims, ","))
	}
	return strings.Join(parts, ";")
}

// parseInputShapes reads inputShapes' format back.
func parseInputShapes(s string) (map[string][]int64, error) {
	out := map[string][]int64{}
	if s == "" {
		return out, nil
	}
	for _, part := range strings.Split(s, ";") {
		name, dims, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("input shapes %q: %q has no '='", s, part)
		}
		var shape []int64
		for _, d := range strings.Split(dims, ",") {
			if d == "" {
				continue
			}
			n, err := strconv.ParseInt(d, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("input shapes %q: %q is not a size", s, d)
			}
			shape = append(shape, n)
		}
		out[name] = shape
	}
	return out, nil
}

// observerOf is the observer the options run, the default resolved.
func observerOf(opts Options) string {
	if opts.Accuracy.Observer == "" {
		return string(quantize.DefaultObserver)
	}
	return string(opts.Accuracy.Observer)
}

// statsMethods refuses, for calibration through stats files, the methods
// that need the samples themselves rather than mergeable observer states.
func statsMethods(opts Options) error {
	if observerOf(opts) == string(quantize.ObserverAuto) && !opts.QAT {
		return invalidf("calibration stats cannot serve --observer auto (the default), which chooses each range on held-out samples themselves: calibrate and quantize with --observer histogram (or minmax), or quantize with --calib")
	}
	if opts.Accuracy.AutoA16W8 {
		return invalidf("calibration stats cannot serve --auto-a16w8, which judges each promotion on held-out samples themselves: quantize with --calib")
	}
	if observerOf(opts) == string(quantize.ObserverAutoConsumers) && !opts.QAT {
		return invalidf("calibration stats cannot serve --observer auto-consumers, which chooses each range on held-out samples themselves: calibrate and quantize with --observer histogram (or minmax), or quantize with --calib")
	}
	if opts.Accuracy.BiasCorrection {
		return invalidf("calibration stats cannot serve --bias-correction, which measures each layer's output on the samples themselves: quantize with --calib")
	}
	if opts.Accuracy.SmoothQuant != 0 {
		return invalidf("calibration stats cannot serve --smooth-quant, which measures each MatMul/Gemm input's channels on the samples themselves: quantize with --calib")
	}
	if opts.Accuracy.AdaRound {
		return invalidf("calibration stats cannot serve --adaround, which fits each layer's rounding on the samples themselves: quantize with --calib")
	}
	return nil
}

// fromStats prepares quantizing from a stats file: the model is fixed to
// the stats' input shapes, the stats must have been made for this model,
// target, scheme and config, and the calibrate stage takes the stats
// instead of running samples.
func (j *job) fromStats(path string, stages []quantize.Stage) ([]quantize.Stage, error) {
	if err := statsMethods(j.opts); err != nil {
		return nil, err
	}
	st, err := calib.Load(path)
	if err != nil {
		return nil, err
	}
	if st.Source == nil {
		return nil, fmt.Errorf("stats %q do not say what model they were made for (made by an older onnxquant?); calibrate again", path)
	}
	shapes, err := parseInputShapes(st.Source[MetaInputShapes])
	if err != nil {
		return nil, fmt.Errorf("stats %q: %w", path, err)
	}
	if err := calib.FixInputShapes(j.gm, shapes); err != nil {
		return nil, fmt.Errorf("stats %q: %w", path, err)
	}
	if err := calib.SameSource(st.Source, statsSource(j, inputShapes(j.gm))); err != nil {
		return nil, fmt.Errorf("stats %q cannot quantize model %q with these options: %w", path, j.name, err)
	}
	j.res.InputShapes = nil
	out := make([]quantize.Stage, 0, len(stages))
	for _, stage := range stages {
		if stage.Name == "calibrate" {
			stage.Doc = "Take the observer states from merged calibration stats instead of running samples."
			stage.Run = func(_ context.Context, s *quantize.Session) error {
				if err := st.SamePlan(s.Requests); err != nil {
					return fmt.Errorf("stats %q: %w", path, err)
				}
				if err := st.CheckCoverage(nil); err != nil {
					return fmt.Errorf("stats %q: %w", path, err)
				}
				s.Stats = st
				return nil
			}
		}
		out = append(out, stage)
	}
	return out, nil
}
