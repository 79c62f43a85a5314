package evaluate

import (
	"fmt"
	"regexp"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/kernels"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// Kinds of layers a report lists.
const (
	KindActivation = "activation" // a tensor computed from the inputs
	KindWeight     = "weight"     // an initializer quantized offline
)

// pair is one float tensor and its dequantized counterpart.
type pair struct {
	float  Key
	quant  Key
	module string // module path of the float producer (exporter metadata)
	kind   string
	bits   int // width of the quantized integer type
	// weight holds a weight's float data, read once from the initializer.
	weight []float32
	// node names the float producer, for hints where no module is known.
	node string
	// grid is an activation's per-tensor grid, for its local error.
	grid *grid
}

// dequantizedName matches the converter's names for dequantized tensors,
// with the numeric suffix it adds when the name is taken.
var dequantizedName = regexp.MustCompile(`^(.*)_dequantized(_[0-9]+)?$`)

// pairs finds every DequantizeLinear of the quantized model whose float
// tensor the float model also has, in a fixed order (module walk, node
// order).
func pairs(floatGM, quantGM *lower.GraphModule) ([]pair, error) {
	var out []pair
	seen := map[Key]bool{}
	err := quantGM.Walk(func(qm *lower.GraphModule) error {
		fm := floatGM
		if qm.Name != "" {
			fm = floatGM.Submodule(qm.Name)
		}
		if fm == nil {
			return nil
		}
		for _, n := range qm.Graph.Nodes {
			if n.Target.OpType != "DequantizeLinear" || len(n.Outputs) == 0 || len(n.Inputs) == 0 || n.Inputs[0] == nil {
				continue
			}
			qv := n.Outputs[0]
			base := qv.Name
			if m := dequantizedName.FindStringSubmatch(base); m != nil {
				base = m[1]
			}
			fv := fm.Graph.OwnValue(base)
			if fv == nil || fv.Producer == nil || seen[Key{qm.Name, qv.Name}] {
				continue
			}
			seen[Key{qm.Name, qv.Name}] = true
			p := pair{
				float:  Key{Module: qm.Name, Name: base},
				quant:  Key{Module: qm.Name, Name: qv.Name},
				module: fv.Producer.Meta.Module(),
				kind:   KindActivation,
				bits:   quantBits(n),
			}
			if fv.Producer.Op == lower.CallFunction {
				// Graph inputs have no node a config could name.
				p.node = fv.Producer.Meta.SourceName
				if p.node == "" {
					p.node = fv.Producer.Name
				}
			}
			p.grid = gridOf(n, p.bits)
			if fv.IsInitializer(lower.ThisGraph) {
				if fv.Producer.Initializer == nil {
					continue
				}
				data, err := onnxio.Float32s(fv.Producer.Initializer, floatGM.Root().Dir)
				if err != nil {
					// Not a float initializer (e.g. an index): nothing to compare.
					continue
				}
				p.kind, p.weight = KindWeight, data
				if p.module == "" {
					p.module = moduleOfUser(fv)
				}
			}
			if fv.DType != 0 && fv.DType != int32(onnxpb.TensorProto_FLOAT) {
				continue
			}
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pair tensors: %w", err)
	}
	return out, nil
}

// moduleOfUser names a weight's module after the first node that reads it.
func moduleOfUser(v *lower.Value) string {
	g := v.Producer.Graph()
	if g == nil {
		return ""
	}
	for _, u := range g.Users(v) {
		if m := u.Meta.Module(); m != "" {
			return m
		}
	}
	return ""
}

// quantBits is the integer width a DequantizeLinear reads: the declared
// type of its input, else that of its zero point (uint8 when absent, as
// ONNX defines).
func quantBits(dq *lower.Node) int {
	if dt := dq.Inputs[0].DType; dt != 0 {
		return bitsOf(dt)
	}
	if len(dq.Inputs) > 2 && dq.Inputs[2] != nil {
		zp := dq.Inputs[2]
		if zp.DType != 0 {
			return bitsOf(zp.DType)
		}
		if zp.Producer != nil && zp.Producer.Initializer != nil {
			return bitsOf(zp.Producer.Initializer.GetDataType())
		}
		return 0
	}
	return 8
}

func bitsOf(dt int32) int {
	switch onnxpb.TensorProto_DataType(dt) {
	case onnxpb.TensorProto_INT8, onnxpb.TensorProto_UINT8:
		return 8
	case onnxpb.TensorProto_INT16, onnxpb.TensorProto_UINT16:
		return 16
	case onnxpb.TensorProto_INT32, onnxpb.TensorProto_UINT32:
		return 32
	case onnxpb.TensorProto_INT4, onnxpb.TensorProto_UINT4:
		return 4
	}
	return 0
}

// outputNames lists the float model's graph outputs of float type.
func outputNames(gm *lower.GraphModule) []string {
	var names []string
	for _, v := range gm.Graph.OutputNode().Inputs {
		if v == nil {
			continue
		}
		if v.DType != 0 && v.DType != int32(onnxpb.TensorProto_FLOAT) {
			continue
		}
		names = append(names, v.Name)
	}
	return names
}

// lastDim is the size of a tensor's last axis (1 for scalars).
func lastDim(t *tensor.Dense) int {
	s := kernels.Dims(t)
	if len(s) == 0 {
		return 1
	}
	return s[len(s)-1]
}
