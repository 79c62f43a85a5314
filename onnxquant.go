package onnxquant

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/onnxquant/onnxquant/calib"
	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
	"github.com/onnxquant/onnxquant/qpass"
	"github.com/onnxquant/onnxquant/quantize"
)

// DefaultTarget is the target when Options.Target is empty, as in
// ExecuTorch's examples.
const DefaultTarget = "ethos-u55-128"

// Options configure one quantization. The zero value (plus samples)
// quantizes with per-channel int8 for ethos-u55-128.
type Options struct {
	// Target is an Ethos-U target such as "ethos-u85-256"; "" is
	// DefaultTarget.
	Target string
	// Scheme is the global scheme: "int8" (default), "int8-per-tensor" or
	// "a16w8".
	Scheme string
	// SchemeExplicit says Scheme was chosen rather than left at its
	// default, so a config file's global entry must agree with it.
	SchemeExplicit bool
	// ConfigFile is a YAML or JSON file of global, io, module_name and
	// module_type entries (the CLI's --config).
	ConfigFile string
	// QAT keeps the Q/DQ pairs of a quantization-aware-training export.
	// Without it a model that holds Q/DQ nodes is refused.
	QAT bool
	// InputShapes fix graph inputs to static shapes; samples of another
	// shape are then an error. Inputs not listed take their sizes from
	// the samples, and Result.InputShapes says which.
	InputShapes map[string][]int64

	// A16W8Modules and A16W8Nodes move these modules and nodes to a16w8
	// on top of the scheme and the config file (eval's sensitivity
	// ranking quantizes with one promotion at a time).
	A16W8Modules, A16W8Nodes []string

	// Accuracy picks the accuracy methods: the observer (auto, chosen per
	// tensor on held-out samples, by default), bias correction, cross-layer
	// equalization, AdaRound-style rounding and SmoothQuant migration.
	Accuracy quantize.Accuracy

	// Calib lists calibration sample files and folders (.npy, .npz,
	// folders of <input>.npy, test_data_set folders).
	Calib []string
	// Samples gives calibration samples from memory instead of Calib.
	Samples SampleSource
	// StatsFile quantizes from calibration stats (Calibrate's output,
	// shards merged) instead of samples. The stats record the model,
	// target, scheme, config and input shapes they were made for; any
	// difference is an error.
	StatsFile string

	// Limits bound the tensors and Loop trips a model may ask for (zero
	// fields keep onnxio's defaults: 2 GiB, 1,000,000 trips).
	Limits onnxio.Limits

	// Workers run calibration samples in parallel; the result does not
	// depend on it. Below 1 means 1.
	Workers int
	// Progress is called with 0 when calibration starts and after each
	// sample.
	Progress func(done, total int)
	// ShapeProgress is called the same way while a model with dynamic
	// inputs is sized by running the samples (the bind-shapes stage, which
	// takes seconds on large models); models with static inputs skip it.
	ShapeProgress func(done, total int)
	// StageProgress is called with 0 done before the first stage of the
	// pipeline and after each stage, with its name.
	StageProgress func(stage string, done, total int)
	// Log receives one line per stage and transform pass.
	Log func(string)
	// DumpAfter logs the graph after the named stage or transform pass.
	DumpAfter string
}

// ErrInvalidOptions is wrapped by errors about the options themselves (an
// unknown target or scheme, a bad config key, an input shape the model
// contradicts, a scheme and a config file that disagree): the caller's
// mistake, which the CLI reports as a usage error.
var ErrInvalidOptions = errors.New("invalid options")

// invalidOptions marks an error as ErrInvalidOptions without changing its
// message.
type invalidOptions struct{ err error }

func (e *invalidOptions) Error() string        { return e.err.Error() }
func (e *invalidOptions) Unwrap() error        { return e.err }
func (e *invalidOptions) Is(target error) bool { return target == ErrInvalidOptions }

func invalidf(format string, args ...any) error {
	return &invalidOptions{fmt.Errorf(format, args...)}
}

// Result describes a quantized model and how it was made.
type Result struct {
	Target, Scheme string
	// Samples is the number of calibration samples.
	Samples int
	// Points is the number of quantization points.
	Points int
	// Coverage counts the samples that reached each conditional submodule.
	Coverage map[string]int
	// InputShapes are the input shapes the model was specialised to (nil
	// for an input the samples left dynamic), when the samples came from
	// files.
	InputShapes map[string][]int
	// Notes say what was decided from the data: stacked files split,
	// dynamic sizes bound.
	Notes []string
	// Legality is the target's verdict on every node.
	Legality *quantize.Report
	// Timings holds the wall time of every stage.
	Timings map[string]time.Duration
	// Provenance is what the output's metadata_props record.
	Provenance map[string]string
	// Forms is the measured choice between int8 and int16 forms of the
	// ops the target runs both ways (choose-int16-forms), nil when not
	// measured; AutoA16W8 what --auto-a16w8 promoted.
	Forms     *quantize.FormsReport
	AutoA16W8 *quantize.AutoReport
}

// Quantize quantizes the float model file in into the QDQ model file out.
// A failure writes nothing; in is never written.
func Quantize(ctx context.Context, in, out string, opts Options) (*Result, error) {
	if sameFile(in, out) {
		return nil, fmt.Errorf("output %q is the input model: refusing to overwrite it", out)
	}
	qm, res, err := QuantizeFile(ctx, in, opts)
	if err != nil {
		return res, err
	}
	if err := qm.Save(out, onnxio.SaveOptions{}); err != nil {
		return res, err
	}
	return res, nil
}

// QuantizeFile is Quantize without writing: it returns the quantized model
// for the caller to save (or export) where and when it wants.
func QuantizeFile(ctx context.Context, in string, opts Options) (*onnxio.Model, *Result, error) {
	m, err := onnxio.Load(in)
	if err != nil {
		return nil, nil, err
	}
	src, err := loadAndDigest(m, in)
	if err != nil {
		return nil, nil, err
	}
	model, res, err := quantizeProto(ctx, m.Proto, m.Dir, in, src, opts)
	if err != nil {
		return nil, res, err
	}
	return &onnxio.Model{Proto: model, Path: in, Dir: m.Dir}, res, nil
}

// QuantizeModel quantizes a float model held in memory (an ONNX file's
// bytes, without external data) and returns the QDQ model's bytes.
func QuantizeModel(ctx context.Context, model []byte, opts Options) ([]byte, *Result, error) {
	m, err := onnxio.Read(bytes.NewReader(model), "<in-memory model>", "")
	if err != nil {
		return nil, nil, err
	}
	sum := sha256.Sum256(model)
	out, res, err := quantizeProto(ctx, m.Proto, "", "<in-memory model>", map[string]string{"": hex.EncodeToString(sum[:])}, opts)
	if err != nil {
		return nil, res, err
	}
	b, err := (&onnxio.Model{Proto: out}).Marshal()
	return b, res, err
}

// quantizeProto quantizes a loaded model; name labels it in errors and
// src holds the SHA-256 of its file ("") and external data files.
func quantizeProto(ctx context.Context, m *onnxpb.ModelProto, dir, name string, src map[string]string, opts Options) (*onnxpb.ModelProto, *Result, error) {
	j, err := prepare(m, dir, name, src, opts)
	if err != nil {
		return nil, j.res, err
	}
	var (
		set    *dataset.Set
		stages = quantize.Stages()
	)
	if opts.StatsFile != "" {
		if opts.Samples != nil || len(opts.Calib) > 0 {
			return nil, j.res, invalidf("give calibration samples or merged stats (StatsFile), not both")
		}
		if stages, err = j.fromStats(opts.StatsFile, stages); err != nil {
			return nil, j.res, err
		}
	} else if set, err = j.openSamples(); err != nil {
		return nil, j.res, err
	}
	qr, err := j.run(ctx, set, stages)
	if err != nil {
		return nil, j.res, err
	}
	j.res.Provenance = provenance(m, qr, j.res, opts, j.configDigest, src)
	stamp(qr.Model, j.res.Provenance)
	return qr.Model, j.res, nil
}

// job is one model on its way through the quantizer.
type job struct {
	q            *ethosu.Quantizer
	gm           *lower.GraphModule
	res          *Result
	opts         Options
	name         string
	configDigest string
	src          map[string]string
}

// prepare configures the quantizer and lowers and checks the model: it
// must not be quantized already (unless QAT), the config's names must
// match it, and InputShapes must fit it.
func prepare(m *onnxpb.ModelProto, dir, name string, src map[string]string, opts Options) (*job, error) {
	q, scheme, configDigest, err := newQuantizer(opts)
	if err != nil {
		return &job{}, err
	}
	j := &job{q: q, res: &Result{Target: q.CompileSpec().Target, Scheme: scheme}, opts: opts, name: name, configDigest: configDigest, src: src}
	if j.gm, err = lower.Lower(m, dir); err != nil {
		return j, fmt.Errorf("model %q: %w", name, err)
	}
	j.gm.Limits = opts.Limits.WithDefaults()
	if err := refuseQuantized(j.gm, name, opts.QAT); err != nil {
		return j, err
	}
	if err := q.Configs().CheckNames(j.gm); err != nil {
		return j, invalidf("model %q: %w", name, err)
	}
	if err := calib.FixInputShapes(j.gm, opts.InputShapes); err != nil {
		return j, invalidf("model %q: %w", name, err)
	}
	return j, nil
}

// openSamples opens the calibration samples of the options.
func (j *job) openSamples() (*dataset.Set, error) {
	if j.opts.Samples != nil && len(j.opts.Calib) > 0 {
		return nil, invalidf("give calibration samples as files (Calib) or from memory (Samples), not both")
	}
	if j.opts.Samples != nil {
		return memorySet(j.gm, j.opts.Samples)
	}
	set, shapes, err := openCalibration(j.gm, j.opts.Calib, func(s string) { j.res.Notes = append(j.res.Notes, s) })
	j.res.InputShapes = shapes
	return set, err
}

// run runs the stages and fills the result from what they learnt.
func (j *job) run(ctx context.Context, set *dataset.Set, stages []quantize.Stage) (*quantize.Result, error) {
	qr, err := j.q.RunStages(ctx, j.gm, set, j.opts.QAT, stages)
	if qr != nil {
		j.res.Legality, j.res.Timings = qr.Legality, qr.Timings
		j.res.Forms, j.res.AutoA16W8 = qr.Forms, qr.AutoA16W8
		if qr.Stats != nil {
			j.res.Samples, j.res.Coverage = qr.Stats.Samples, qr.Stats.Coverage
		}
		if qr.Annotation != nil {
			j.res.Points = len(qr.Annotation.Points())
		}
	}
	if err != nil {
		return qr, fmt.Errorf("model %q: %w", j.name, err)
	}
	return qr, nil
}

// newQuantizer configures an Ethos-U quantizer from the options and
// returns the global scheme it runs and the config file's digest.
func newQuantizer(opts Options) (*ethosu.Quantizer, string, string, error) {
	target := opts.Target
	if target == "" {
		target = DefaultTarget
	}
	spec, err := ethosu.NewCompileSpec(target, "", "")
	if err != nil {
		return nil, "", "", &invalidOptions{err}
	}
	scheme := opts.Scheme
	if scheme == "" {
		scheme = "int8"
	}
	q := ethosu.NewEthosUQuantizer(spec)
	digest := ""
	var cf *ethosu.ConfigFile
	if opts.ConfigFile != "" {
		b, err := onnxio.ReadRegular(opts.ConfigFile, ethosu.MaxConfigBytes)
		if err != nil {
			return nil, "", "", fmt.Errorf("config %q: %w", opts.ConfigFile, err)
		}
		sum := sha256.Sum256(b)
		digest = hex.EncodeToString(sum[:])
		if cf, err = ethosu.LoadConfigFile(opts.ConfigFile); err != nil {
			return nil, "", "", wrapConfigErr(err)
		}
		if cf.Global != nil {
			if opts.SchemeExplicit && canonicalScheme(*cf.Global) != canonicalScheme(scheme) {
				return nil, "", "", invalidf("scheme %s and config %q (global: %s) disagree: give the scheme in one place", scheme, opts.ConfigFile, *cf.Global)
			}
			scheme = *cf.Global
		}
	}
	global, err := ethosu.RoleConfig(scheme, qpass.RoleGlobal, opts.QAT)
	if err != nil || global == nil {
		where := "scheme"
		if cf != nil && cf.Global != nil {
			where = fmt.Sprintf("config %q: global", opts.ConfigFile)
		}
		return nil, "", "", invalidf("%s %q: expected int8, int8-per-tensor or a16w8", where, scheme)
	}
	q.SetGlobal(global)
	if cf != nil {
		if err := cf.Apply(q, opts.QAT); err != nil {
			return nil, "", "", wrapConfigErr(err)
		}
	}
	perChannel := global.Weight == nil || global.Weight.PerChannel
	for _, m := range opts.A16W8Modules {
		q.SetModuleName(m, qpass.SymmetricA16W8(perChannel, opts.QAT))
	}
	for _, n := range opts.A16W8Nodes {
		q.SetNodeName(n, qpass.SymmetricA16W8(perChannel, opts.QAT))
	}
	q.Workers = max(opts.Workers, 1)
	q.DumpAfter = opts.DumpAfter
	q.Log = opts.Log
	q.Progress = opts.Progress
	q.ShapeProgress = opts.ShapeProgress
	q.Accuracy = opts.Accuracy
	q.Stages = opts.StageProgress
	return q, scheme, digest, nil
}

func wrapConfigErr(err error) error {
	if errors.Is(err, ethosu.ErrConfig) {
		return &invalidOptions{err}
	}
	return err
}

// CheckOptions reports the mistakes in opts that need no model: an unknown
// target or scheme, a config file that does not parse or names unknown
// schemes, a scheme that disagrees with the config's global entry. It
// returns the global scheme the options run.
func CheckOptions(opts Options) (string, error) {
	_, scheme, _, err := newQuantizer(opts)
	return scheme, err
}

func canonicalScheme(s string) string {
	s = strings.ToLower(s)
	if s == "16x8" {
		return "a16w8"
	}
	return s
}

// refuseQuantized fails for a model that already holds Q/DQ nodes unless
// they are a QAT export's: quantizing it again stacks a second pair on
// every tensor.
func refuseQuantized(gm *lower.GraphModule, name string, qat bool) error {
	if qat {
		return nil
	}
	if n, first := QDQNodes(gm); n > 0 {
		return fmt.Errorf("model %q is quantized already: it holds %d QuantizeLinear/DequantizeLinear node(s), the first %s; give the float model, or --qat if they are the fake-quantization pairs of a QAT export", name, n, first)
	}
	return nil
}

// QDQNodes counts the QuantizeLinear and DequantizeLinear nodes of gm and
// its submodules, and names the first ("" when there is none).
func QDQNodes(gm *lower.GraphModule) (int, string) {
	n, first := 0, ""
	_ = gm.Walk(func(m *lower.GraphModule) error {
		for _, node := range m.Graph.Nodes {
			if op := node.Target.OpType; node.Op == lower.CallFunction && (op == "QuantizeLinear" || op == "DequantizeLinear") {
				if n == 0 {
					first = fmt.Sprintf("%q (%s)", node.Name, op)
				}
				n++
			}
		}
		return nil
	})
	return n, first
}

// loadAndDigest reads the external data of m, loaded from path, and
// hashes the model file and its external data files. The references are
// checked (against the tensors' sizes and the files') before any file is
// hashed, so a reference without a length into a huge (sparse) file is
// refused at once rather than after reading the whole file.
func loadAndDigest(m *onnxio.Model, path string) (map[string]string, error) {
	files := onnxio.ExternalDataFiles(m.Proto)
	if err := m.LoadExternalData(); err != nil {
		return nil, err
	}
	return sourceDigests(path, files)
}

// sourceDigests hashes the model file and the external data files given.
func sourceDigests(path string, external []string) (map[string]string, error) {
	out := map[string]string{}
	files := append([]string{""}, external...)
	for _, f := range files {
		p := path
		if f != "" {
			p = filepath.Join(filepath.Dir(path), filepath.FromSlash(f))
		}
		sum, err := fileSHA256(p)
		if err != nil {
			return nil, fmt.Errorf("model %q: %w", path, err)
		}
		out[f] = sum
	}
	return out, nil
}

// fileSHA256 returns the hex SHA-256 of a file's contents.
func fileSHA256(path string) (string, error) {
	f, _, err := onnxio.OpenRegular(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func sameFile(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	return err == nil && os.SameFile(sa, sb)
}
