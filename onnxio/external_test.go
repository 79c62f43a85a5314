package onnxio_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

func loadCorpusModel(t *testing.T, name string) *onnxio.Model {
	t.Helper()
	m, err := onnxio.Load(filepath.Join(testenv.Corpus(t), "models", name))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// externalInits returns the external initializers with their offsets.
func externalInits(m *onnxio.Model) map[string]int64 {
	out := map[string]int64{}
	for _, t := range m.Proto.GetGraph().GetInitializer() {
		if !onnxio.IsExternal(t) {
			continue
		}
		for _, kv := range t.GetExternalData() {
			if kv.GetKey() == "offset" {
				off, _ := strconv.ParseInt(kv.GetValue(), 10, 64)
				out[t.GetName()] = off
			}
		}
	}
	return out
}

func TestExternalDataSaveReloadMaterializesToTheOriginal(t *testing.T) {
	orig := loadCorpusModel(t, "squeezenet1_1.onnx")
	dir := t.TempDir()
	path := filepath.Join(dir, "sq.onnx")
	if err := orig.Save(path, onnxio.SaveOptions{ExternalDataThreshold: 1024}); err != nil {
		t.Fatal(err)
	}
	// Save must leave the in-memory model as it was.
	fresh := loadCorpusModel(t, "squeezenet1_1.onnx")
	if !proto.Equal(orig.Proto, fresh.Proto) {
		t.Fatal("Save with a threshold changed the in-memory model")
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() > 200_000 {
		t.Errorf("model with external data is still %d bytes", st.Size())
	}
	m, err := onnxio.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ext := externalInits(m)
	if len(ext) == 0 {
		t.Fatal("no initializer went external")
	}
	for name, off := range ext {
		if off%4096 != 0 {
			t.Errorf("tensor %q at offset %d, not 4096-aligned", name, off)
		}
	}
	// Accessors resolve external data without materializing.
	w := m.Proto.Graph.Initializer[0]
	fromExt, err := onnxio.Float32s(w, m.Dir)
	if err != nil {
		t.Fatal(err)
	}
	want, err := onnxio.Float32s(fresh.Proto.Graph.Initializer[0], "")
	if err != nil {
		t.Fatal(err)
	}
	if len(fromExt) != len(want) || fromExt[0] != want[0] || fromExt[len(want)-1] != want[len(want)-1] {
		t.Errorf("Float32s through external data differs from the original")
	}
	if err := m.LoadExternalData(); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(m.Proto, fresh.Proto) {
		t.Error("model after LoadExternalData differs from the original")
	}
	// Saving the externalized model again unmodified keeps its bytes.
	m2, _ := onnxio.Load(path)
	again := filepath.Join(dir, "sq2.onnx")
	if err := m2.Save(again, onnxio.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(path)
	b, _ := os.ReadFile(again)
	if !bytes.Equal(a, b) {
		t.Error("re-saving a model with external data changed its bytes")
	}
}

func TestSaveIntoAnotherFolderCopiesExternalData(t *testing.T) {
	orig := loadCorpusModel(t, "squeezenet1_1.onnx")
	a, b := t.TempDir(), t.TempDir()
	if err := orig.Save(filepath.Join(a, "sq.onnx"), onnxio.SaveOptions{ExternalDataThreshold: 1024}); err != nil {
		t.Fatal(err)
	}
	m, err := onnxio.Load(filepath.Join(a, "sq.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Save(filepath.Join(b, "copy.onnx"), onnxio.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	// The data file keeps the name the model refers to.
	if _, err := os.Stat(filepath.Join(b, "sq.onnx.data")); err != nil {
		t.Fatalf("external data not copied: %v", err)
	}
	if err := os.RemoveAll(a); err != nil {
		t.Fatal(err)
	}
	c, err := onnxio.Load(filepath.Join(b, "copy.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.LoadExternalData(); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(c.Proto, orig.Proto) {
		t.Error("copied model differs from the original after materialization")
	}
}

func TestSaveSwitchesToExternalDataOverTheProtobufLimit(t *testing.T) {
	orig := loadCorpusModel(t, "squeezenet1_1.onnx")
	var opts onnxio.SaveOptions
	onnxio.SetMaxProtoSize(&opts, 1_000_000) // stands in for 2 GB
	path := filepath.Join(t.TempDir(), "big.onnx")
	if err := orig.Save(path, opts); err != nil {
		t.Fatal(err)
	}
	m, err := onnxio.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(externalInits(m)) == 0 {
		t.Fatal("no external data written for an oversized model")
	}
	if err := m.LoadExternalData(); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(m.Proto, orig.Proto) {
		t.Error("model differs after the automatic switch")
	}
	onnxio.SetMaxProtoSize(&opts, 100) // impossible even with external data
	err = orig.Save(filepath.Join(t.TempDir(), "x.onnx"), opts)
	wantMention(t, err, "limit")
}

func TestExternalLocationsEscapingTheFolderAreRejected(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(filepath.Dir(dir), "secret.bin")
	_ = os.WriteFile(secret, make([]byte, 8), 0o644)
	defer os.Remove(secret)
	for _, loc := range []string{"../secret.bin", secret, "sub/../../secret.bin"} {
		tp := &onnxpb.TensorProto{
			Name: proto.String("w"), Dims: []int64{2}, DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
			DataLocation: onnxpb.TensorProto_EXTERNAL.Enum(),
			ExternalData: []*onnxpb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String(loc)}},
		}
		_, err := onnxio.Float32s(tp, dir)
		if !errors.Is(err, onnxio.ErrUnsafeLocation) {
			t.Errorf("location %q: error %v, want ErrUnsafeLocation", loc, err)
		}
		wantMention(t, err, `"w"`)
		pb := tinyModel()
		pb.Graph.Initializer = []*onnxpb.TensorProto{tp}
		m := &onnxio.Model{Proto: pb, Dir: dir}
		if err := m.LoadExternalData(); !errors.Is(err, onnxio.ErrUnsafeLocation) {
			t.Errorf("LoadExternalData with %q: %v", loc, err)
		}
	}
	// A symlink inside the folder that points outside is refused too.
	if err := os.Symlink(secret, filepath.Join(dir, "link.bin")); err == nil {
		tp := &onnxpb.TensorProto{
			Name: proto.String("w"), Dims: []int64{2}, DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
			DataLocation: onnxpb.TensorProto_EXTERNAL.Enum(),
			ExternalData: []*onnxpb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String("link.bin")}},
		}
		if _, err := onnxio.Float32s(tp, dir); err == nil {
			t.Error("symlink out of the model folder was followed")
		}
	}
}

func TestExternalDataOutOfFileBoundsIsAnError(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "d.bin"), make([]byte, 8), 0o644); err != nil {
		t.Fatal(err)
	}
	ext := func(kv ...string) *onnxpb.TensorProto {
		tp := &onnxpb.TensorProto{
			Name: proto.String("w"), Dims: []int64{2}, DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
			DataLocation: onnxpb.TensorProto_EXTERNAL.Enum(),
		}
		for i := 0; i < len(kv); i += 2 {
			tp.ExternalData = append(tp.ExternalData, &onnxpb.StringStringEntryProto{Key: proto.String(kv[i]), Value: proto.String(kv[i+1])})
		}
		return tp
	}
	if v, err := onnxio.Float32s(ext("location", "d.bin"), dir); err != nil || len(v) != 2 {
		t.Errorf("whole-file tensor: %v %v", v, err)
	}
	for _, tp := range []*onnxpb.TensorProto{
		ext("location", "d.bin", "offset", "4", "length", "8"),
		ext("location", "d.bin", "offset", "-1"),
		ext("location", "d.bin", "length", "4"), // 4 bytes for 2 floats
		ext("offset", "0"),
		ext("location", "absent.bin"),
	} {
		if _, err := onnxio.Float32s(tp, dir); err == nil {
			t.Errorf("external data %v: no error", tp.ExternalData)
		}
	}
}

// Tensors in typed fields stay inline under a threshold (materializing
// could not restore their encoding) but move when the model is too big.
func TestThresholdMovesOnlyRawTensorsUnlessTheModelIsTooBig(t *testing.T) {
	pb := tinyModel()
	pb.Graph.Initializer = append(pb.Graph.Initializer,
		testmodel.Float32s("typed", []int64{1024}, make([]float32, 1024)...),
		&onnxpb.TensorProto{Name: proto.String("raw"), Dims: []int64{1024},
			DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), RawData: make([]byte, 4096)})
	m := &onnxio.Model{Proto: pb}
	dir := t.TempDir()
	if err := m.Save(filepath.Join(dir, "a.onnx"), onnxio.SaveOptions{ExternalDataThreshold: 1024}); err != nil {
		t.Fatal(err)
	}
	a, err := onnxio.Load(filepath.Join(dir, "a.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if got := externalInits(a); len(got) != 1 || got["raw"] != 0 {
		t.Errorf("external tensors %v, want only raw at 0", got)
	}
	if err := a.LoadExternalData(); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(a.Proto, pb) {
		t.Error("materialized model differs")
	}
	var opts onnxio.SaveOptions
	onnxio.SetMaxProtoSize(&opts, 2000)
	if err := m.Save(filepath.Join(dir, "b.onnx"), opts); err != nil {
		t.Fatal(err)
	}
	b, err := onnxio.Load(filepath.Join(dir, "b.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if got := externalInits(b); len(got) != 2 || got["typed"] != 0 || got["raw"] != 4096 {
		t.Errorf("external tensors %v, want typed at 0 and raw at 4096", got)
	}
	want, _ := onnxio.Float32s(pb.Graph.Initializer[1], "")
	gotVals, err := onnxio.Float32s(b.Proto.Graph.Initializer[1], b.Dir)
	if err != nil || len(gotVals) != len(want) {
		t.Errorf("typed tensor through external data: %d values, %v", len(gotVals), err)
	}
}
