package tflite

import (
	"encoding/binary"
	"math"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// qdqBuilder builds small QDQ ONNX graphs of the form onnxquant writes.
type qdqBuilder struct {
	g *onnxpb.GraphProto
	// opset is 13 unless set (int16 QuantizeLinear needs 21).
	opset int64
}

func newQDQ() *qdqBuilder { return &qdqBuilder{g: &onnxpb.GraphProto{Name: proto.String("test")}} }

func (b *qdqBuilder) model() *onnxio.Model {
	opset, ir := int64(13), int64(8)
	if b.opset != 0 {
		opset, ir = b.opset, 10
	}
	return &onnxio.Model{Proto: &onnxpb.ModelProto{
		IrVersion:   proto.Int64(ir),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(opset)}},
		Graph:       b.g,
	}}
}

func (b *qdqBuilder) init(name string, dt onnxpb.TensorProto_DataType, dims []int64, raw []byte) {
	b.g.Initializer = append(b.g.Initializer, &onnxpb.TensorProto{
		Name: proto.String(name), DataType: proto.Int32(int32(dt)), Dims: dims, RawData: raw,
	})
}

func f32raw(v ...float32) []byte {
	out := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(x))
	}
	return out
}

func intRaw(dt onnxpb.TensorProto_DataType, v ...int64) []byte {
	switch dt {
	case onnxpb.TensorProto_INT8, onnxpb.TensorProto_UINT8:
		return encode(Int8, v)
	case onnxpb.TensorProto_INT16:
		return encode(Int16, v)
	case onnxpb.TensorProto_INT32:
		return encode(Int32, v)
	}
	return encode(Int64, v)
}

func attrI(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func attrF(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

func attrIs(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
}

func (b *qdqBuilder) node(op, name string, in, out []string, attrs ...*onnxpb.AttributeProto) {
	b.g.Node = append(b.g.Node, &onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String(name), Input: in, Output: out, Attribute: attrs})
}

func tensorType(dims []int64) *onnxpb.TypeProto {
	sh := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		sh.Dim = append(sh.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
	}
	ft := int32(onnxpb.TensorProto_FLOAT)
	return &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{ElemType: &ft, Shape: sh}}}
}

// input declares a float input, quantizes it and returns the dequantized
// tensor's name.
func (b *qdqBuilder) input(name string, dt onnxpb.TensorProto_DataType, scale float32, zp int64, dims ...int64) string {
	b.g.Input = append(b.g.Input, &onnxpb.ValueInfoProto{Name: proto.String(name), Type: tensorType(dims)})
	return b.qdq(name, dt, scale, zp)
}

// qdq quantizes a float tensor and returns the dequantized name.
func (b *qdqBuilder) qdq(x string, dt onnxpb.TensorProto_DataType, scale float32, zp int64) string {
	b.init(x+"_scale", onnxpb.TensorProto_FLOAT, nil, f32raw(scale))
	b.init(x+"_zp", dt, nil, intRaw(dt, zp))
	b.node("QuantizeLinear", x+"_Q", []string{x, x + "_scale", x + "_zp"}, []string{x + "_q"})
	b.node("DequantizeLinear", x+"_DQ", []string{x + "_q", x + "_scale", x + "_zp"}, []string{x + "_dq"})
	return x + "_dq"
}

// weight adds a quantized constant (int8, or int32 for biases) with
// per-axis scales along axis (per-tensor when one scale).
func (b *qdqBuilder) weight(name string, dt onnxpb.TensorProto_DataType, dims []int64, vals []int64, scales []float32, axis int64) string {
	b.init(name+"_quantized", dt, dims, intRaw(dt, vals...))
	var sdims []int64
	if len(scales) > 1 {
		sdims = []int64{int64(len(scales))}
	}
	b.init(name+"_scale", onnxpb.TensorProto_FLOAT, sdims, f32raw(scales...))
	b.init(name+"_zp", dt, sdims, intRaw(dt, make([]int64, len(scales))...))
	b.node("DequantizeLinear", name+"_DQ", []string{name + "_quantized", name + "_scale", name + "_zp"}, []string{name}, attrI("axis", axis))
	return name
}

// output dequantizes a float result as the graph output.
func (b *qdqBuilder) output(x, name string, dt onnxpb.TensorProto_DataType, scale float32, zp int64) {
	b.init(name+"_scale", onnxpb.TensorProto_FLOAT, nil, f32raw(scale))
	b.init(name+"_zp", dt, nil, intRaw(dt, zp))
	b.node("QuantizeLinear", name+"_Q", []string{x, name + "_scale", name + "_zp"}, []string{name + "_q"})
	b.node("DequantizeLinear", name+"_DQ", []string{name + "_q", name + "_scale", name + "_zp"}, []string{name})
	ft := int32(onnxpb.TensorProto_FLOAT)
	b.g.Output = append(b.g.Output, &onnxpb.ValueInfoProto{Name: proto.String(name),
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{ElemType: &ft}}}})
}

func seq(n int, f func(i int) int64) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

// mustExport exports and round-trips through Marshal and Read.
func mustExport(t *testing.T, b *qdqBuilder, opts ExportOptions) *Model {
	t.Helper()
	if opts.Target == "" {
		opts.Target = "ethos-u55-128"
	}
	m, err := Export(b.model(), opts)
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	data, err := Marshal(m)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	f, err := Read(data)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return f.Model
}

func ops(m *Model) []BuiltinOp {
	var out []BuiltinOp
	for _, o := range m.Operators {
		out = append(out, o.Op)
	}
	return out
}

func onnxioSaveOptions() onnxio.SaveOptions { return onnxio.SaveOptions{} }
