package onnxio_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/internal/onnxdense"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// FuzzRead feeds arbitrary bytes to Read and then through everything that
// looks at a decoded model: Validate, LoadExternalData, the tensor
// accessors and Write. Nothing may panic, and re-encoding must be stable.
func FuzzRead(f *testing.F) {
	seedModels := []*onnxpb.ModelProto{tinyModel(), ifModel("x", "ghost")}
	ext := tinyModel()
	ext.Graph.Initializer[0] = &onnxpb.TensorProto{
		Name: proto.String("w"), Dims: []int64{2}, DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
		DataLocation: onnxpb.TensorProto_EXTERNAL.Enum(),
		ExternalData: []*onnxpb.StringStringEntryProto{
			{Key: proto.String("location"), Value: proto.String("d.bin")},
			{Key: proto.String("offset"), Value: proto.String("4")},
			{Key: proto.String("length"), Value: proto.String("8")},
		},
	}
	int4 := tinyModel()
	int4.Graph.Initializer[0] = &onnxpb.TensorProto{
		Name: proto.String("w"), Dims: []int64{3}, DataType: proto.Int32(int32(onnxpb.TensorProto_INT4)), RawData: []byte{0x7f, 0x08},
	}
	seedModels = append(seedModels, ext, int4)
	for _, pb := range seedModels {
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(pb)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	// Small real models from the node tests, when the corpus is present.
	if root, err := testenv.CorpusDir(); err == nil {
		for _, test := range []string{"test_if", "test_loop11", "test_scan_sum", "test_cast_FLOAT_to_FLOAT16", "test_dequantizelinear", "test_constant"} {
			if b, err := os.ReadFile(filepath.Join(root, "onnx-node", test, "model.onnx")); err == nil {
				f.Add(b)
			}
		}
	}
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "d.bin"), []byte{0, 0, 0, 0, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40}, 0o644); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := onnxio.Read(bytes.NewReader(data), "fuzz.onnx", dir)
		if err != nil {
			return
		}
		_ = onnxio.Validate(m)
		var first bytes.Buffer
		if err := m.Write(&first); err != nil {
			t.Fatalf("Write of a decoded model: %v", err)
		}
		again, err := onnxio.Read(bytes.NewReader(first.Bytes()), "again.onnx", dir)
		if err != nil {
			t.Fatalf("re-reading our own output: %v", err)
		}
		var second bytes.Buffer
		if err := again.Write(&second); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first.Bytes(), second.Bytes()) {
			t.Fatal("re-encoding is not stable")
		}
		var tensors []*onnxpb.TensorProto
		tensors = append(tensors, m.Proto.GetGraph().GetInitializer()...)
		for _, n := range m.Proto.GetGraph().GetNode() {
			for _, a := range n.GetAttribute() {
				if a.T != nil {
					tensors = append(tensors, a.T)
				}
			}
		}
		for _, tp := range tensors {
			_ = onnxio.TensorShape(tp)
			_, _ = onnxio.Values(tp, dir)
			_, _ = onnxio.Float32s(tp, dir)
			_, _ = onnxio.Int64s(tp, dir)
			_, _ = onnxio.Bytes(tp, dir)
			_, _ = onnxdense.ToDense(tp, dir)
		}
		_ = m.LoadExternalData()
	})
}
