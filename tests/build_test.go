package tests

import (
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/calib/dataset"
	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// graphBuilder writes small ONNX models for the tests that need an
// operator the example model lacks.
type graphBuilder struct{ g *onnxpb.GraphProto }

func newGraph(name string) *graphBuilder {
	return &graphBuilder{g: &onnxpb.GraphProto{Name: proto.String(name)}}
}

func tensorInfo(name string, dt onnxpb.TensorProto_DataType, dims ...int64) *onnxpb.ValueInfoProto {
	sh := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		sh.Dim = append(sh.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
	}
	tt := &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(dt)), Shape: sh}
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: tt}}}
}

func (b *graphBuilder) input(name string, dims ...int64) *graphBuilder {
	b.g.Input = append(b.g.Input, tensorInfo(name, onnxpb.TensorProto_FLOAT, dims...))
	return b
}

// output declares an output of the given type and rank (sizes unknown).
func (b *graphBuilder) output(name string, dt onnxpb.TensorProto_DataType, rank int) *graphBuilder {
	vi := tensorInfo(name, dt)
	for range rank {
		vi.Type.GetTensorType().Shape.Dim = append(vi.Type.GetTensorType().Shape.Dim, &onnxpb.TensorShapeProto_Dimension{})
	}
	b.g.Output = append(b.g.Output, vi)
	return b
}

func (b *graphBuilder) int64s(name string, vals ...int64) *graphBuilder {
	b.g.Initializer = append(b.g.Initializer, &onnxpb.TensorProto{Name: proto.String(name), Dims: []int64{int64(len(vals))},
		DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Int64Data: vals})
	return b
}

func (b *graphBuilder) floats(name string, vals ...float32) *graphBuilder {
	b.g.Initializer = append(b.g.Initializer, &onnxpb.TensorProto{Name: proto.String(name), Dims: []int64{int64(len(vals))},
		DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), FloatData: vals})
	return b
}

func (b *graphBuilder) node(op, name string, in, out []string) *graphBuilder {
	b.g.Node = append(b.g.Node, &onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String(name), Input: in, Output: out})
	return b
}

// save writes the model with opset 13 into dir/name.
func (b *graphBuilder) save(t *testing.T, dir, name string) string {
	t.Helper()
	m := &onnxio.Model{Proto: &onnxpb.ModelProto{IrVersion: proto.Int64(8), Graph: b.g,
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}}}}
	path := filepath.Join(dir, name)
	if err := m.Save(path, onnxio.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeSamples writes n samples of the given shape into a new folder,
// values from fill(i, j) for sample i, element j.
func writeSamples(t *testing.T, n int, shape []int, fill func(i, j int) float32) string {
	t.Helper()
	dir := t.TempDir()
	size := 1
	for _, d := range shape {
		size *= d
	}
	for i := 0; i < n; i++ {
		data := make([]float32, size)
		for j := range data {
			data[j] = fill(i, j)
		}
		p := filepath.Join(dir, "sample_"+string(rune('a'+i))+".npy")
		if err := dataset.WriteNPY(p, tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// exampleSample copies sample i of the example set and returns its path.
func exampleSample(t *testing.T, dir string, i int) string {
	t.Helper()
	b, err := os.ReadFile(repo("models", "tinynet_calib", "sample_00"+string(rune('0'+i))+".npy"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "sample_00"+string(rune('0'+i))+".npy")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
