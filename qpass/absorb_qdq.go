package qpass

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// FixedQParams are quantization parameters a model already carries, as a
// model exported after quantization-aware training does: calibration keeps
// them instead of observing the tensor.
type FixedQParams struct {
	DType     int32
	Scale     []float32
	ZeroPoint []int32
	Axis      int
}

// FixedKey names a tensor across submodules for FixedQParams.
func FixedKey(module, value string) string { return module + "\x00" + value }

// AbsorbQDQ removes the QuantizeLinear -> DequantizeLinear pairs of a QAT
// export and records their qparams for the tensor they quantized, so the
// annotator places its own Q/DQ there with the trained ranges; integer
// initializers read through DequantizeLinear (QAT weights) become float
// initializers again, with their qparams recorded. Pairs whose scale or
// zero point is not constant are an error naming the node.
func AbsorbQDQ(gm *lower.GraphModule) (map[string]FixedQParams, error) {
	fixed := map[string]FixedQParams{}
	dir := gm.Root().Dir
	err := gm.Walk(func(m *lower.GraphModule) error {
		g := m.Graph
		for _, n := range append([]*lower.Node(nil), g.Nodes...) {
			if err := m.Interrupted(); err != nil {
				return err
			}
			if n.Op != lower.CallFunction || n.Target.OpType != "DequantizeLinear" || g.Index(n) < 0 {
				continue
			}
			fq, err := readQParams(n, dir)
			if err != nil {
				return err
			}
			in := n.Inputs[0]
			switch p := in.Producer; {
			case p != nil && p.Op == lower.GetAttr:
				// A quantized weight: dequantize it offline.
				t, err := dequantizeInitializer(p.Initializer, fq, dir)
				if err != nil {
					return fmt.Errorf("node %q (DequantizeLinear): %w", n.Meta.SourceName, err)
				}
				out := n.Outputs[0]
				w := g.NewInitializer(out.Name+"_float", t)
				g.ReplaceAllUses(out, w)
				g.RemoveNode(n)
				fixed[FixedKey(m.Name, w.Name)] = fq
			case p != nil && p.Op == lower.CallFunction && p.Target.OpType == "QuantizeLinear":
				x := p.Inputs[0]
				g.ReplaceAllUses(n.Outputs[0], x)
				g.RemoveNode(n)
				if len(g.Users(p.Outputs[0])) == 0 {
					g.RemoveNode(p)
				}
				fixed[FixedKey(m.Name, x.Name)] = fq
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	gm.EliminateDeadCode()
	return fixed, nil
}

// readQParams reads the constant scale and zero point of a DequantizeLinear.
func readQParams(n *lower.Node, dir string) (FixedQParams, error) {
	fq := FixedQParams{Axis: int(n.AttrInt("axis", 1))}
	if len(n.Inputs) < 2 || !n.Inputs[1].IsInitializer(lower.EnclosingGraphs) {
		return fq, fmt.Errorf("node %q (DequantizeLinear): scale is not a constant", n.Meta.SourceName)
	}
	scale, err := onnxio.Float32s(n.Inputs[1].Producer.Initializer, dir)
	if err != nil {
		return fq, fmt.Errorf("node %q (DequantizeLinear): scale: %w", n.Meta.SourceName, err)
	}
	fq.Scale = scale
	fq.ZeroPoint = make([]int32, len(scale))
	fq.DType = n.Inputs[0].DType
	if len(n.Inputs) > 2 && n.Inputs[2] != nil {
		if !n.Inputs[2].IsInitializer(lower.EnclosingGraphs) {
			return fq, fmt.Errorf("node %q (DequantizeLinear): zero point is not a constant", n.Meta.SourceName)
		}
		zt := n.Inputs[2].Producer.Initializer
		zp, err := onnxio.Int64s(zt, dir)
		if err != nil {
			return fq, fmt.Errorf("node %q (DequantizeLinear): zero point: %w", n.Meta.SourceName, err)
		}
		for i, z := range zp {
			fq.ZeroPoint[i] = int32(z)
		}
		fq.DType = zt.GetDataType()
	}
	if fq.DType == 0 {
		fq.DType = int32(onnxpb.TensorProto_UINT8)
	}
	return fq, nil
}

func dequantizeInitializer(t *onnxpb.TensorProto, fq FixedQParams, dir string) (*onnxpb.TensorProto, error) {
	q, err := onnxio.Int64s(t, dir)
	if err != nil {
		return nil, err
	}
	dims := t.GetDims()
	inner, channels := 1, 1
	if len(fq.Scale) > 1 {
		axis := fq.Axis
		if axis < 0 {
			axis += len(dims)
		}
		if axis < 0 || axis >= len(dims) || int(dims[axis]) != len(fq.Scale) {
			return nil, fmt.Errorf("%d scales do not fit shape %v", len(fq.Scale), dims)
		}
		channels = len(fq.Scale)
		for _, d := range dims[axis+1:] {
			inner *= int(d)
		}
	}
	vals := make([]float32, len(q))
	for i, v := range q {
		c := (i / inner) % channels
		vals[i] = float32(v-int64(fq.ZeroPoint[c])) * fq.Scale[c]
	}
	return &onnxpb.TensorProto{Dims: append([]int64(nil), dims...), DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), FloatData: vals}, nil
}

// CheckFixed reports whether trained qparams fit the spec the annotator
// chose for the tensor, in the target's terms.
func CheckFixed(fq FixedQParams, spec *QSpec) error {
	if fq.DType != spec.DType {
		return fmt.Errorf("trained as %s but the config quantizes it as %s", onnxio.DataTypeName(fq.DType), onnxio.DataTypeName(spec.DType))
	}
	if len(fq.Scale) > 1 && !spec.PerChannel {
		return fmt.Errorf("trained per channel but the config quantizes it per tensor")
	}
	for i, z := range fq.ZeroPoint {
		if z < spec.QMin || z > spec.QMax {
			return fmt.Errorf("zero point %d is outside [%d, %d]", z, spec.QMin, spec.QMax)
		}
		if spec.Symmetric && z != 0 {
			return fmt.Errorf("zero point %d where the target needs 0 (symmetric)", z)
		}
		if fq.Scale[i] <= 0 {
			return fmt.Errorf("scale %g is not positive", fq.Scale[i])
		}
	}
	return nil
}
