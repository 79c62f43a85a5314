package quantize

import (
	"context"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
	"github.com/onnxquant/onnxquant/qpass"
)

const tfliteGridsDoc = `Give Sigmoid and Tanh outputs the fixed grids of TFLite's kernels (--tflite-grids).

TFLite's LOGISTIC writes int8 on scale 1/256 with zero point −128, TANH
on 1/128 with zero point 0, and both int16 on 1/32768 with zero point 0,
whatever range was observed. The TFLite exporter keeps the
quantizer's grid by adding a QUANTIZE after the op, which costs one NPU
operation per table op and rounds twice where the QDQ model rounds once,
so the exported model drifts from ONNX Runtime's (docs/export.md). With
this stage the observed range of such an output is replaced by TFLite's
grid, the exporter writes the op alone, and both round once. ExecuTorch
observes these ranges, so the stage runs only when asked for. A point is
changed only when every tensor sharing it is the table op's output or a
copy of it that cannot leave its range (Reshape, Transpose, Slice,
MaxPool, ...): a Concat that also holds another op's output keeps the
observed range. The grid covers the op's whole output range, so nothing
is clipped; an output observed in a narrow part of it loses resolution.
Softmax is not among them: every Ethos-U target decomposes it before
annotation, and the SOFTMAX the exporter rebuilds keeps its QUANTIZE.`

// gridPreservingOps pass their input's values through without leaving
// their range, so a point they share with a table op's output can take the
// table op's fixed grid.
var gridPreservingOps = map[string]bool{
	"Reshape": true, "Flatten": true, "Squeeze": true, "Unsqueeze": true, "Transpose": true, "Slice": true,
	"Split": true, "MaxPool": true, "Relu": true, "Identity": true, "Expand": true, "Tile": true, "Gather": true,
	"GatherElements": true, "GatherND": true, "DepthToSpace": true, "SpaceToDepth": true, "Dropout": true,
	"Max": true, "Min": true, "Concat": true,
}

func usesTFLiteGrids(s *Session) bool { return s.Options.Accuracy.TFLiteGrids }

func tfliteGrids(_ context.Context, s *Session) error {
	n := 0
	for _, p := range s.Annotation.Points() {
		if _, trained := s.Trained[p.ID]; trained || p.Derived() {
			continue
		}
		q, ok := tfliteGridOf(p)
		if !ok {
			continue
		}
		s.QParams[p.ID] = q
		n++
	}
	s.logf("tflite-grids: %d table-op outputs on TFLite's fixed grids", n)
	return nil
}

// tfliteGridOf returns the fixed TFLite grid of a point that only holds
// one kind of table op's output (and range-preserving copies of it), on
// the spec's grid; ok is false for any other point.
func tfliteGridOf(p *qpass.Point) (q qpass.QParams, ok bool) {
	op := ""
	for _, site := range p.Sites {
		if site.Kind != qpass.OutputSite || site.Constant() {
			return q, false
		}
		prod := site.Value.Producer
		if prod == nil {
			return q, false
		}
		switch t := prod.Target.OpType; t {
		case "Sigmoid", "Tanh":
			if op != "" && op != t {
				return q, false
			}
			op = t
		default:
			if !gridPreservingOps[t] {
				return q, false
			}
		}
	}
	if op == "" {
		return q, false
	}
	sp := p.Spec
	switch {
	case sp.DType == int32(onnxpb.TensorProto_INT8) && sp.QMin == -128 && sp.QMax == 127 && !sp.Symmetric:
		if op == "Tanh" {
			return qpass.QParams{Scale: []float32{1.0 / 128}, ZeroPoint: []int32{0}}, true
		}
		return qpass.QParams{Scale: []float32{1.0 / 256}, ZeroPoint: []int32{-128}}, true
	case sp.DType == int32(onnxpb.TensorProto_INT16) && sp.Symmetric && sp.QMax <= 32767:
		return qpass.QParams{Scale: []float32{1.0 / 32768}, ZeroPoint: []int32{0}}, true
	}
	return q, false
}
