package calib

import (
	"github.com/onnxquant/onnxquant/calib/observe"
	"github.com/onnxquant/onnxquant/lower"
)

// onnxFloat is TensorProto.FLOAT.
const onnxFloat = 1

// AllActivations is the plan of the standalone calibrate command: one
// histogram observer for every float value a node computes, in the top
// level and in every submodule, so a model can be calibrated before any
// quantizer has said which tensors it needs. Values whose type the model
// does not declare are included too (the interpreter feeds observers only
// float32 tensors, so an integer value just leaves its observer empty);
// Constant outputs are not, because nothing computes them per sample.
// Request ids follow the walk order: top level first, submodules in graph
// order, nodes in topological order.
func AllActivations(gm *lower.GraphModule) []Request {
	var reqs []Request
	_ = gm.Walk(func(m *lower.GraphModule) error {
		for _, n := range m.Graph.Nodes {
			if n.Op != lower.CallFunction && n.Op != lower.CallModule {
				continue
			}
			if n.Target.OpType == "Constant" && (n.Target.Domain == "" || n.Target.Domain == "ai.onnx") {
				continue
			}
			for _, v := range n.Outputs {
				if v == nil || v.Name == "" || (v.DType != onnxFloat && v.DType != 0) {
					continue
				}
				reqs = append(reqs, Request{
					ID:    len(reqs),
					Spec:  observe.Spec{Kind: observe.KindHistogram},
					Sites: []Site{{Module: m.Name, Value: v.Name}},
				})
			}
		}
		return nil
	})
	return reqs
}
