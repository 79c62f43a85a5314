package ethosu

import (
	"fmt"

	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// Rule is one named legality rule of Ethos-U. A report cites the rule a
// node breaks by Name (Verdict.RuleName); the numbers a rule compares
// against are the target's Limits, so the rule reads the same for every
// family.
type Rule struct {
	Name string
	// Doc says what the rule checks and where the limit comes from.
	Doc string
	// On is the class of nodes the rule judges.
	On NodeClass
	// Ops restricts the rule to these op types; nil judges every op.
	Ops map[string]bool
	// QuantizedOnly rules judge the QDQ model only, not the float
	// operators of the pre-check.
	QuantizedOnly bool
	// Check returns how n breaks the rule, or "".
	Check func(c *checker, n *lower.Node) string
}

// Rules returns the legality rules in the order they are applied; a node
// is reported with the first rule it breaks.
func Rules() []Rule {
	return []Rule{
		{Name: "default-domain", Doc: "Only default-domain ONNX operators have a TOSA lowering.", On: AnyNode, Check: defaultDomain},
		{Name: "qdq-types", Doc: "Q/DQ carry int8 or int16 activations; int32 only for constant biases, uint8 only at graph inputs and outputs, per-channel only for constant weights.", On: BoundaryNode, Check: (*checker).qdq},
		{Name: "no-scan", Doc: "Scan has no TOSA form.", On: ControlFlowNode, Ops: set("Scan"), Check: noScan},
		{Name: "max-rank", Doc: "Tensors have at most Limits.MaxRank dimensions.", On: ComputeNode, Check: maxRank},
		{Name: "supported-op", Doc: "The operator has a TOSA INT lowering on some Ethos-U (../shared/docs/ethosu-ops.md §3).", On: ComputeNode, Check: supportedOp},
		{Name: "comparison-ops", Doc: "Comparisons, logical ops, Where, GatherElements/ND and scatters need Limits.ComparisonOps (Ethos-U85).", On: ComputeNode, Check: comparisonOps},
		{Name: "quantized-io", Doc: "A compute node reads float tensors only through DequantizeLinear and writes them only to QuantizeLinear (a fused Relu/Clip counts as its producer).", On: ComputeNode, QuantizedOnly: true, Check: (*checker).quantized},
		{Name: "table-int8", Doc: "TABLE ops (sigmoid, tanh, exp, ...) take int16 only with Limits.Int16Tables.", On: ComputeNode, Ops: tableOps(), Check: tableInt8},
		{Name: "activation-matmul-int8", Doc: "MatMul of two activations (TOSA MATMUL) takes int16 only with Limits.Int16ActivationMatMul; a constant operand makes it a fully connected layer.", On: ComputeNode, Ops: set("MatMul"), Check: activationMatMulInt8},
		{Name: "conv-3d", Doc: "3-D convolution needs Limits.Conv3D.", On: ComputeNode, Ops: set("Conv", "ConvTranspose"), Check: conv3D},
		{Name: "conv-kernel", Doc: "Kernel height ≤ Limits.ConvKernelY and area ≤ Limits.ConvKernelArea.", On: ComputeNode, Ops: set("Conv", "ConvTranspose"), Check: convKernel},
		{Name: "transpose-conv-stride", Doc: "Transposed convolution strides are at most Limits.TransposeConvStride.", On: ComputeNode, Ops: set("ConvTranspose"), Check: transposeConvStride},
		{Name: "conv-stride", Doc: "Convolution strides above Limits.ConvStrideWithPadding need no padding and no dilation.", On: ComputeNode, Ops: set("Conv"), Check: convStride},
		{Name: "transpose-conv-dilation", Doc: "Transposed convolution needs dilation 1.", On: ComputeNode, Ops: set("ConvTranspose"), Check: transposeConvDilation},
		{Name: "pool-kernel", Doc: "Pooling window height ≤ Limits.PoolKernelY and area ≤ Limits.PoolKernelArea.", On: ComputeNode, Ops: set("MaxPool", "AveragePool"), Check: poolKernel},
		{Name: "padded-avgpool-kernel", Doc: "A padded average pool's window is at most Limits.PaddedAvgPoolKernel on each side.", On: ComputeNode, Ops: set("AveragePool"), Check: paddedAvgPoolKernel},
		{Name: "pool-stride", Doc: "Pooling strides are at most Limits.PoolStride (when bounded).", On: ComputeNode, Ops: set("MaxPool", "AveragePool"), Check: poolStride},
		{Name: "pad-mode", Doc: "Pad modes other than constant need Limits.NonConstantPad (the quantizer decomposes them where it can).", On: ComputeNode, Ops: set("Pad"), Check: padMode},
		{Name: "reverse-axes", Doc: "A Slice with step -1 is TOSA REVERSE, along H and W only unless Limits.ReverseAnyAxis.", On: ComputeNode, Ops: set("Slice"), Check: reverseAxes},
		{Name: "maxpool-indices", Doc: "MaxPool's Indices output has no TOSA form (MAX_POOL2D gives the maxima only).", On: ComputeNode, Ops: set("MaxPool"), Check: maxPoolIndices},
		{Name: "resize-crop", Doc: "Resize in tf_crop_and_resize mode has no TOSA form (no crop box, no extrapolation value).", On: ComputeNode, Ops: set("Resize"), Check: resizeCrop},
		{Name: "resize-antialias", Doc: "An antialiased linear or cubic Resize that shrinks an axis has no TOSA form (RESIZE interpolates two pixels).", On: ComputeNode, Ops: set("Resize"), Check: resizeAntialias},
		{Name: "resize-mode", Doc: "Resize modes other than nearest need Limits.NonNearestResize.", On: ComputeNode, Ops: set("Resize"), Check: resizeMode},
		{Name: "gather-index", Doc: "Gather with a computed index needs Limits.ComputedGatherIndex.", On: ComputeNode, Ops: set("Gather"), Check: gatherIndex},
	}
}

func defaultDomain(_ *checker, n *lower.Node) string {
	if n.Target.Domain != "" && n.Target.Domain != "ai.onnx" {
		return fmt.Sprintf("operator of domain %q has no Ethos-U equivalent", n.Target.Domain)
	}
	return ""
}

func noScan(*checker, *lower.Node) string { return "Scan has no Ethos-U equivalent" }

func maxRank(c *checker, n *lower.Node) string {
	for _, t := range append(append([]*lower.Value{}, n.Inputs...), n.Outputs...) {
		if t != nil && t.HasShape && len(t.Shape) > c.lim.MaxRank {
			return fmt.Sprintf("tensor %q has rank %d; the limit is %d", t.Name, len(t.Shape), c.lim.MaxRank)
		}
	}
	return ""
}

func supportedOp(c *checker, n *lower.Node) string {
	if op := n.Target.OpType; !c.npu[op] && !c.u85[op] {
		if hint := unsupportedHints[op]; hint != "" {
			return "operator not supported by Ethos-U (no TOSA INT lowering): " + hint
		}
		return "operator not supported by Ethos-U (no TOSA INT lowering)"
	}
	return ""
}

// unsupportedHints tell what to do about operators exporters write that
// onnxquant does not decompose.
var unsupportedHints = map[string]string{
	"Attention": "opset 23 Attention is decomposed only without is_causal, a boolean mask, past key/values, softcap " +
		"or grouped heads; export attention written out as MatMul and Softmax (torch.onnx at opset 22 or below, " +
		"or without the fused attention op), with a float additive mask",
}

func comparisonOps(c *checker, n *lower.Node) string {
	if op := n.Target.OpType; c.u85[op] && !c.lim.ComparisonOps {
		return fmt.Sprintf("%s is not supported on %s (only on Ethos-U85)", op, c.spec.Family())
	}
	return ""
}

var dtInt16 = int32(onnxpb.TensorProto_INT16)

func tableInt8(c *checker, n *lower.Node) string {
	if !c.lim.Int16Tables && quantDType(n.Inputs[0]) == dtInt16 {
		return fmt.Sprintf("%s becomes a TABLE lookup, which is int8 only on %s", n.Target.OpType, c.spec.Family())
	}
	return ""
}

func activationMatMulInt8(c *checker, n *lower.Node) string {
	a, b := n.Inputs[0], n.Inputs[1]
	if !c.lim.Int16ActivationMatMul && !isWeightDQ(a) && !isWeightDQ(b) && (quantDType(a) == dtInt16 || quantDType(b) == dtInt16) {
		return "activation×activation MatMul is int8 only on " + string(c.spec.Family())
	}
	return ""
}

// kernelShape is a convolution's kernel_shape, or the weight's spatial
// dims when the attribute is omitted.
func kernelShape(n *lower.Node) []int64 {
	k := n.AttrInts("kernel_shape", nil)
	if len(k) == 0 && len(n.Inputs) > 1 && n.Inputs[1] != nil && n.Inputs[1].HasShape {
		for _, d := range n.Inputs[1].Shape[2:] {
			k = append(k, d.Value)
		}
	}
	return k
}

func conv3D(c *checker, n *lower.Node) string {
	if len(kernelShape(n)) == 3 && !c.lim.Conv3D {
		return "3-D convolution is not supported on " + string(c.spec.Family())
	}
	return ""
}

func convKernel(c *checker, n *lower.Node) string {
	if k := kernelShape(n); len(k) == 2 && (k[0] > c.lim.ConvKernelY || k[0]*k[1] > c.lim.ConvKernelArea) {
		return fmt.Sprintf("kernel %v exceeds ky ≤ %d and kx·ky ≤ %d", k, c.lim.ConvKernelY, c.lim.ConvKernelArea)
	}
	return ""
}

func transposeConvStride(c *checker, n *lower.Node) string {
	strides := n.AttrInts("strides", nil)
	if anyOver(strides, c.lim.TransposeConvStride) {
		return fmt.Sprintf("transposed convolution stride %v is not (1,1) or (2,2)", strides)
	}
	return ""
}

func convStride(c *checker, n *lower.Node) string {
	strides := n.AttrInts("strides", nil)
	if anyOver(strides, c.lim.ConvStrideWithPadding) && (anyNonZero(n.AttrInts("pads", nil)) || anyOver(n.AttrInts("dilations", nil), 1)) {
		return fmt.Sprintf("stride %v exceeds %d with padding or dilation", strides, c.lim.ConvStrideWithPadding)
	}
	return ""
}

func transposeConvDilation(_ *checker, n *lower.Node) string {
	if anyOver(n.AttrInts("dilations", nil), 1) {
		return "transposed convolution needs dilation 1"
	}
	return ""
}

func poolKernel(c *checker, n *lower.Node) string {
	if k := n.AttrInts("kernel_shape", nil); len(k) == 2 && (k[0] > c.lim.PoolKernelY || k[0]*k[1] > c.lim.PoolKernelArea) {
		return fmt.Sprintf("pooling kernel %v exceeds ky ≤ %d, kx·ky ≤ %d", k, c.lim.PoolKernelY, c.lim.PoolKernelArea)
	}
	return ""
}

func paddedAvgPoolKernel(c *checker, n *lower.Node) string {
	k := n.AttrInts("kernel_shape", nil)
	if len(k) == 2 && anyNonZero(n.AttrInts("pads", nil)) && (k[0] > c.lim.PaddedAvgPoolKernel || k[1] > c.lim.PaddedAvgPoolKernel) {
		return fmt.Sprintf("padded average pooling kernel %v exceeds %dx%d", k, c.lim.PaddedAvgPoolKernel, c.lim.PaddedAvgPoolKernel)
	}
	return ""
}

func poolStride(c *checker, n *lower.Node) string {
	if c.lim.PoolStride == 0 {
		return ""
	}
	for _, s := range n.AttrInts("strides", nil) {
		if s > c.lim.PoolStride {
			return fmt.Sprintf("pooling stride %d exceeds %d", s, c.lim.PoolStride)
		}
	}
	return ""
}

func padMode(c *checker, n *lower.Node) string {
	if mode := n.AttrString("mode", "constant"); mode != "constant" && !c.lim.NonConstantPad {
		return fmt.Sprintf("Pad mode %q is not supported on %s (constant only; the quantizer rewrites reflect, edge and wrap "+
			"padding by constant, non-negative amounts as Slice and Concat, which this Pad does not have)", mode, c.spec.Family())
	}
	return ""
}

func reverseAxes(c *checker, n *lower.Node) string {
	if c.lim.ReverseAnyAxis {
		return ""
	}
	return c.reverseRule(n)
}

func resizeMode(c *checker, n *lower.Node) string {
	if mode := n.AttrString("mode", "nearest"); mode != "nearest" && !c.lim.NonNearestResize {
		return fmt.Sprintf("Resize mode %q is not supported on %s (nearest only)", mode, c.spec.Family())
	}
	return ""
}

func gatherIndex(c *checker, n *lower.Node) string {
	if !c.lim.ComputedGatherIndex && len(n.Inputs) > 1 && !isConstantTensor(n.Inputs[1]) {
		return "Gather with a computed index is not supported on " + string(c.spec.Family())
	}
	return ""
}
