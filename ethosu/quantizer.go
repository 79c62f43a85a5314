package ethosu

import (
	"context"
	"fmt"

	"github.com/onnxquant/onnxquant/calib/sample"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/qpass"
	"github.com/onnxquant/onnxquant/quantize"
)

// Quantizer is ExecuTorch's EthosUQuantizer for ONNX: configure it with
// the Set* methods (each returns the quantizer, as the Python setters
// return self), then QuantizeWithSubmodules. It is a facade over the
// quantize package's stage table with an Ethos-U Target.
type Quantizer struct {
	spec    CompileSpec
	configs qpass.ConfigSet
	// Workers is the number of calibration workers (the -j flag).
	Workers int
	// Progress receives calibration progress.
	Progress func(done, total int)
	// ShapeProgress receives the progress of sizing a model with dynamic
	// inputs from the samples (the bind-shapes stage).
	ShapeProgress func(done, total int)
	// Stages receives progress across the pipeline's stages.
	Stages func(stage string, done, total int)
	// Log receives one line per stage and transform pass (the --verbose
	// output).
	Log func(string)
	// DumpAfter logs the graph after the named stage or transform pass.
	DumpAfter string
	// Verify, when set, checks the graph after every stage and transform
	// pass (quantize.Options.Verify); tests set it.
	Verify func(gm *lower.GraphModule) error
	// Accuracy selects the accuracy methods (observer choice, bias
	// correction, cross-layer equalization); the zero value is the
	// default quantizer.
	Accuracy quantize.Accuracy
}

// NewEthosUQuantizer returns a quantizer for the target with the default
// configuration: SymmetricInt8 per channel as the global config.
func NewEthosUQuantizer(spec CompileSpec) *Quantizer {
	q := &Quantizer{spec: spec, configs: qpass.ConfigSet{ModuleName: map[string]*qpass.Config{}, ModuleType: map[string]*qpass.Config{}}}
	q.configs.Global = qpass.SymmetricInt8(true, false)
	return q
}

// CompileSpec returns the quantizer's target.
func (q *Quantizer) CompileSpec() CompileSpec { return q.spec }

// SetGlobal sets the config of every node no other entry claims; nil
// leaves them float, which Ethos-U cannot run.
func (q *Quantizer) SetGlobal(cfg *qpass.Config) *Quantizer { q.configs.Global = cfg; return q }

// SetIO sets the config of the graph inputs and outputs.
func (q *Quantizer) SetIO(cfg *qpass.Config) *Quantizer { q.configs.IO = cfg; return q }

// SetNodeName sets the config of one node by its ONNX name, or of the
// nodes a glob matches ("/layer1/*"), as ExecuTorch's set_node_name does;
// it wins over module names and types.
func (q *Quantizer) SetNodeName(name string, cfg *qpass.Config) *Quantizer {
	if q.configs.NodeName == nil {
		q.configs.NodeName = map[string]*qpass.Config{}
	}
	q.configs.NodeName[name] = cfg
	return q
}

// SetModuleName sets the config of the nodes inside a module (qualified
// name such as "layer1.0" or "slow"); the most specific name wins.
func (q *Quantizer) SetModuleName(name string, cfg *qpass.Config) *Quantizer {
	q.configs.ModuleName[name] = cfg
	return q
}

// SetModuleType sets the config of the nodes inside modules of a class (from
// the exporter's metadata) or of an ONNX op type.
func (q *Quantizer) SetModuleType(typ string, cfg *qpass.Config) *Quantizer {
	q.configs.ModuleType[typ] = cfg
	return q
}

// Configs returns the quantizer's configuration.
func (q *Quantizer) Configs() *qpass.ConfigSet { return &q.configs }

// session prepares a pipeline run over gm; a config given in a role it
// cannot serve (the uint8 IO config as the global one) is an error here,
// before any work.
func (q *Quantizer) session(gm *lower.GraphModule, samples sample.Source, isQAT bool) (*quantize.Session, error) {
	return quantize.NewSession(gm, samples, NewTarget(q.spec), &q.configs, isQAT,
		quantize.Options{Workers: q.Workers, Progress: q.Progress, ShapeProgress: q.ShapeProgress, Stages: q.Stages, Log: q.Log, DumpAfter: q.DumpAfter, Accuracy: q.Accuracy, Verify: q.Verify})
}

// TransformForAnnotation runs the transform-for-annotation passes on a
// model whose shapes are known: constant folding, BatchNorm folding,
// scalars to tensors, Div to Mul, decompositions of normalisations,
// Softmax, recurrent ops and (U55/U65) mirror padding, GELU recognition
// and the opset raise. Only nodes that will be quantized are decomposed.
func (q *Quantizer) TransformForAnnotation(gm *lower.GraphModule) error {
	s, err := q.session(gm, nil, false)
	if err != nil {
		return err
	}
	return qpass.RunPasses(gm, qpass.TransformForAnnotationPasses(), s.PassContext())
}

// Annotate decides the quantization points of gm (shapes must be known).
func (q *Quantizer) Annotate(gm *lower.GraphModule) (*qpass.Annotation, error) {
	s, err := q.session(gm, nil, false)
	if err != nil {
		return nil, err
	}
	return qpass.Annotate(gm, s.Configs)
}

// RunStages runs the given stages (quantize.Stages() or an edited copy:
// calibration from merged stats, a pre-check only) with the quantizer's
// target and configs. samples may be nil when no stage reads them.
func (q *Quantizer) RunStages(ctx context.Context, gm *lower.GraphModule, samples sample.Source, isQAT bool, stages []quantize.Stage) (*Result, error) {
	s, err := q.session(gm, samples, isQAT)
	if err != nil {
		return nil, err
	}
	return quantize.Run(ctx, s, stages)
}

// QuantizeWithSubmodules is ExecuTorch's _quantize_with_submodules for an
// ONNX GraphModule: it runs quantize.Stages() — transform for annotation,
// annotate every graph and conditional submodule, calibrate on samples
// (every code path must be reached by at least one sample), convert to QDQ
// and check the result against the target. gm is rewritten in place. With
// isQAT, existing QuantizeLinear/DequantizeLinear ranges are kept and the
// rest is calibrated with moving-average observers. The result comes back
// with the error when a stage fails, holding what the stages before it
// learnt (a legality failure carries its report).
// Samples are sample files (calib.OpenSamples) or any sample.Source of
// the application's own tensors.
func (q *Quantizer) QuantizeWithSubmodules(ctx context.Context, gm *lower.GraphModule, samples sample.Source, isQAT bool) (*Result, error) {
	if samples == nil || samples.Len() == 0 {
		return nil, fmt.Errorf("no calibration samples")
	}
	s, err := q.session(gm, samples, isQAT)
	if err != nil {
		return nil, err
	}
	return quantize.Run(ctx, s, quantize.Stages())
}
