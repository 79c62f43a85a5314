package qpass

import (
	"fmt"
	"strings"

	"github.com/onnxquant/onnxquant/lower"
)

// TransformForAnnotationPasses returns the passes that prepare a lowered
// float model for annotation, in order, as ExecuTorch's
// transform_for_annotation_pipeline does for an FX graph: fold what is
// constant, bring the model to the opset the QDQ form needs, fold
// BatchNormalization into the preceding weights, split composite operators
// that Ethos-U cannot run as one quantized operator, and make scalar
// operands into tensors the observers can see. The list is fresh on every
// call, so callers may edit it.
func TransformForAnnotationPasses() []Pass {
	return []Pass{
		{Name: "infer-shapes", Doc: inferShapesDoc, Run: InferShapes},
		{Name: "fold-constants", Doc: foldConstantsDoc, Run: FoldConstants},
		{Name: "raise-opset", Removes: []string{"Upsample"}, Doc: raiseOpsetDoc, Run: RaiseOpset},
		{Name: "reinfer-shapes", Doc: inferShapesDoc, Run: InferShapes},
		{Name: "fold-batchnorm", Removes: []string{"BatchNormalization"}, Doc: foldBatchNormDoc, Run: FoldBatchNorm},
		{Name: "equalize-cross-layer", Doc: equalizeCrossLayerDoc, Run: EqualizeCrossLayer},
		{Name: "decompose-layernorm", Removes: []string{"LayerNormalization", "GroupNormalization", "InstanceNormalization", "RMSNormalization"}, Doc: decomposeLayerNormDoc, Run: DecomposeLayerNorm},
		{Name: "decompose-attention", Removes: []string{"Attention"}, Doc: decomposeAttentionDoc, Run: DecomposeAttention},
		{Name: "decompose-rotary", Removes: []string{"RotaryEmbedding"}, Doc: decomposeRotaryEmbeddingDoc, Run: DecomposeRotaryEmbedding},
		{Name: "decompose-lstm", Removes: []string{"LSTM"}, Doc: decomposeLSTMDoc, Run: DecomposeLSTM},
		{Name: "decompose-gru", Removes: []string{"GRU"}, Doc: decomposeGRUDoc, Run: DecomposeGRU},
		{Name: "decompose-reflect-pad", Doc: decomposeReflectPadDoc, Run: DecomposeReflectPad},
		{Name: "recognize-gelu", Doc: recognizeGeluDoc, Run: RecognizeGelu},
		{Name: "infer-new-shapes", Doc: inferShapesDoc, Run: InferShapes},
		{Name: "fold-new-constants", Doc: foldConstantsDoc, Run: FoldConstants},
		{Name: "scalars-to-tensors", Doc: scalarsToTensorsDoc, Run: ScalarsToTensors},
		{Name: "div-to-mul", Removes: []string{"Div"}, Doc: divToMulDoc, Run: DivToMul},
		{Name: "decompose-softmax", Removes: []string{"Softmax", "LogSoftmax"}, Doc: decomposeSoftmaxDoc, Run: DecomposeSoftmax},
		{Name: "eliminate-dead-code", Doc: eliminateDeadCodeDoc, Run: EliminateDeadCode},
	}
}

// orderConstraints lists pairs {A, B}: when both passes are in a pipeline,
// A must run before B. Each pair says why.
var orderConstraints = [...]OrderRule{
	{"infer-shapes", "fold-constants", "Shape nodes fold only once input shapes are known"},
	{"raise-opset", "reinfer-shapes", "opset adapters add values whose shapes are not known yet"},
	{"reinfer-shapes", "decompose-lstm", "unrolling needs the static sequence length"},
	{"reinfer-shapes", "fold-batchnorm", "a standalone BatchNormalization needs its input's rank"},
	{"decompose-layernorm", "infer-new-shapes", "values made by decompositions have no shapes until inferred"},
	{"decompose-attention", "infer-new-shapes", "values made by decompositions have no shapes until inferred"},
	{"reinfer-shapes", "decompose-attention", "splitting heads needs the inputs' ranks and head sizes"},
	{"raise-opset", "decompose-attention", "decompositions emit operators in the form of the final opset"},
	{"decompose-attention", "decompose-softmax", "the attention's Softmax is decomposed like any other"},
	{"decompose-rotary", "infer-new-shapes", "values made by decompositions have no shapes until inferred"},
	{"reinfer-shapes", "decompose-rotary", "the rotation needs the input's rank and head size"},
	{"raise-opset", "decompose-rotary", "decompositions emit operators in the form of the final opset"},
	{"decompose-lstm", "infer-new-shapes", "values made by decompositions have no shapes until inferred"},
	{"decompose-reflect-pad", "infer-new-shapes", "values made by decompositions have no shapes until inferred"},
	{"fold-constants", "decompose-reflect-pad", "pads computed by Constant subgraphs must be constants first"},
	{"raise-opset", "decompose-reflect-pad", "Pad is read, and Slice written, in the input form of the final opset"},
	{"reinfer-shapes", "decompose-reflect-pad", "padded axis sizes bound what reflect and wrap may reach"},
	{"infer-new-shapes", "scalars-to-tensors", "scalars are shaped to the rank of the other operand"},
	{"infer-new-shapes", "fold-new-constants", "Shape nodes made by decompositions (GroupNormalization's reshapes) fold only once their inputs' shapes are inferred"},
	{"fold-new-constants", "scalars-to-tensors", "constants computed inside decompositions must be initializers before scalars become tensors"},
	{"fold-constants", "fold-batchnorm", "BatchNormalization parameters computed by Constant subgraphs must be constants first"},
	{"fold-constants", "scalars-to-tensors", "scalars computed from constants are only visible once folded"},
	{"raise-opset", "fold-batchnorm", "passes see operators in the target opset's form only"},
	{"raise-opset", "decompose-layernorm", "decompositions emit operators in the form of the final opset"},
	{"raise-opset", "decompose-softmax", "Softmax before opset 13 coerces to 2-D; the decomposition assumes the opset 13 meaning"},
	{"raise-opset", "decompose-lstm", "decompositions emit operators in the form of the final opset"},
	{"raise-opset", "decompose-gru", "decompositions emit operators in the form of the final opset"},
	{"raise-opset", "recognize-gelu", "Gelu exists only from opset 20; the pass must see the final opset"},
	{"fold-batchnorm", "scalars-to-tensors", "a standalone BatchNormalization becomes Mul and Add whose constants are already tensors"},
	{"recognize-gelu", "div-to-mul", "the Erf pattern is written with Div by sqrt(2); recognise it before Div disappears"},
	{"recognize-gelu", "scalars-to-tensors", "Gelu's pattern constants must not be turned into observed tensors"},
	{"scalars-to-tensors", "div-to-mul", "a Div by a scalar Constant node becomes a Div by an initializer, which folds into a Mul"},
	{"decompose-layernorm", "eliminate-dead-code", "decompositions leave their old constants for dead-code elimination"},
	{"decompose-softmax", "eliminate-dead-code", "decompositions leave their old constants for dead-code elimination"},
	{"decompose-reflect-pad", "eliminate-dead-code", "decompositions leave their old constants for dead-code elimination"},
	{"div-to-mul", "eliminate-dead-code", "div-to-mul leaves the old divisor for dead-code elimination"},
	{"fold-batchnorm", "equalize-cross-layer", "equalization must scale the weights BatchNormalization is folded into, not the ones before"},
	{"fold-constants", "equalize-cross-layer", "weights computed by Constant subgraphs must be constants first"},
	{"equalize-cross-layer", "eliminate-dead-code", "equalization leaves the old weights for dead-code elimination"},
}

// CheckOrder reports the first ordering constraint the pass list breaks,
// and duplicate pass names.
func CheckOrder(passes []Pass) error {
	names := make([]string, len(passes))
	for i, p := range passes {
		names[i] = p.Name
	}
	return CheckOrderOf("pass", names, orderConstraints[:])
}

// OrderRule says that when both steps are in a pipeline, Before must run
// before After, and why.
type OrderRule struct{ Before, After, Why string }

// CheckOrderOf checks a list of step names (kind says what a step is:
// "pass", "stage") for duplicates and against the ordering rules; it is
// shared by the pass list here and the quantizer's stage table.
func CheckOrderOf(kind string, names []string, rules []OrderRule) error {
	pos := map[string]int{}
	for i, name := range names {
		if _, dup := pos[name]; dup {
			return fmt.Errorf("%s %q appears twice in the pipeline", kind, name)
		}
		pos[name] = i
	}
	for _, r := range rules {
		a, okA := pos[r.Before]
		b, okB := pos[r.After]
		if okA && okB && a > b {
			return fmt.Errorf("%s %q must run before %q: %s", kind, r.Before, r.After, r.Why)
		}
	}
	return nil
}

// Dump renders gm as text, one node per line, bodies indented under the
// node that owns them: what --dump-after prints.
func Dump(gm *lower.GraphModule) string {
	var b strings.Builder
	dumpModule(&b, gm, "")
	return b.String()
}

func dumpModule(b *strings.Builder, gm *lower.GraphModule, indent string) {
	for _, n := range gm.Graph.Nodes {
		outs := make([]string, 0, len(n.Outputs))
		for _, v := range n.Outputs {
			if v == nil {
				outs = append(outs, "_")
			} else {
				outs = append(outs, v.Name)
			}
		}
		ins := make([]string, 0, len(n.Inputs))
		for _, v := range n.Inputs {
			if v == nil {
				ins = append(ins, "_")
			} else {
				ins = append(ins, v.Name)
			}
		}
		switch n.Op {
		case lower.Placeholder:
			kind := "input"
			if n.Capture {
				kind = "capture"
			}
			fmt.Fprintf(b, "%s%s %s\n", indent, kind, strings.Join(outs, ", "))
		case lower.GetAttr:
			fmt.Fprintf(b, "%sinitializer %s %v\n", indent, outs[0], n.Initializer.GetDims())
		case lower.Output:
			fmt.Fprintf(b, "%sreturn %s\n", indent, strings.Join(ins, ", "))
		default:
			attrs := make([]string, 0, len(n.Attrs))
			for _, a := range n.Attrs {
				attrs = append(attrs, a.GetName())
			}
			fmt.Fprintf(b, "%s%s = %s(%s)", indent, strings.Join(outs, ", "), n.Target, strings.Join(ins, ", "))
			if len(attrs) > 0 {
				fmt.Fprintf(b, " {%s}", strings.Join(attrs, ", "))
			}
			b.WriteString("\n")
			for _, body := range n.Bodies {
				fmt.Fprintf(b, "%s  %s:\n", indent, body.Attr)
				dumpModule(b, gm.Submodules[body.Module], indent+"    ")
			}
		}
	}
}

const eliminateDeadCodeDoc = `Remove nodes and initializers nothing reads, in every graph.

The rewrites before it leave the operators and constants they replaced
behind; removing them keeps observers off values that no longer matter.`

// EliminateDeadCode removes unread nodes from gm and its bodies.
func EliminateDeadCode(gm *lower.GraphModule, _ *PassContext) (bool, error) {
	return gm.EliminateDeadCode(), nil
}
