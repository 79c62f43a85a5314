package qpass

import "github.com/onnxquant/onnxquant/lower"

const raiseOpsetDoc = `Raise the default-domain opset to the one the QDQ form needs (13 for per-channel int8, 21 for int16).

Per-channel QuantizeLinear/DequantizeLinear need opset 13 and int16 ones
opset 21; converting first means every later pass sees operators in one
form (Softmax over one axis, Split and ReduceSum axes as inputs) and builds
its replacements in the final opset. A model already at or above the target
keeps its opset: the pass never lowers it.`

// RaiseOpset converts gm to ctx.TargetOpset when that is higher than the
// model's opset.
func RaiseOpset(gm *lower.GraphModule, ctx *PassContext) (bool, error) {
	if ctx == nil || ctx.TargetOpset == 0 || gm.Opset("") >= ctx.TargetOpset {
		return false, nil
	}
	if err := lower.ConvertOpset(gm, ctx.TargetOpset); err != nil {
		return false, err
	}
	return true, nil
}
