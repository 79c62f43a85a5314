package onnxio_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

func wantMention(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one mentioning %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err, p)
		}
	}
}

func TestLoadRejectsTruncatedFileNamingIt(t *testing.T) {
	src := filepath.Join(testenv.Corpus(t), "models", "squeezenet1_1.onnx")
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cut.onnx")
	if err := os.WriteFile(path, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = onnxio.Load(path)
	wantMention(t, err, path, "not an ONNX model")
	if !errors.Is(err, onnxio.ErrNotONNX) {
		t.Errorf("error %v is not ErrNotONNX", err)
	}
}

func TestLoadRejectsGarbageAndEmptyFiles(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string][]byte{
		"text.onnx":  []byte("this is a README, not a model\n"),
		"empty.onnx": nil,
		"ff.onnx":    {0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, content, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := onnxio.Load(path)
		wantMention(t, err, path, "not an ONNX model")
	}
}

func TestLoadOfMissingFileNamesIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.onnx")
	_, err := onnxio.Load(path)
	wantMention(t, err, path)
}

// validationOf writes pb to a file, loads it with LoadValidated and
// returns the path and the *ValidationError (nil if the model is valid).
func validationOf(t *testing.T, name string, pb *onnxpb.ModelProto) (string, *onnxio.ValidationError) {
	t.Helper()
	path := writeModel(t, t.TempDir(), name, pb)
	_, err := onnxio.LoadValidated(path)
	if err == nil {
		return path, nil
	}
	var ve *onnxio.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("LoadValidated error %v is not a *ValidationError", err)
	}
	return path, ve
}

func TestValidateAcceptsTinyModelAndOuterScopeReads(t *testing.T) {
	if _, ve := validationOf(t, "tiny.onnx", tinyModel()); ve != nil {
		t.Errorf("tiny model: %v", ve)
	}
	// Subgraph bodies may read outer graph inputs, initializers and
	// outputs of nodes before the If.
	if _, ve := validationOf(t, "if.onnx", ifModel("x", "y")); ve != nil {
		t.Errorf("If reading outer names: %v", ve)
	}
}

func TestValidateReportsMissingInitializerNamingFileNodeAndTensor(t *testing.T) {
	pb := tinyModel()
	pb.Graph.Initializer = nil // "w" now dangles
	path, ve := validationOf(t, "dangling.onnx", pb)
	wantMention(t, ve, path, `"add0"`, `"w"`, "not produced")
	if ve != nil && (len(ve.Problems) != 1 || ve.Problems[0].Node != "add0" || ve.Problems[0].Tensor != "w") {
		t.Errorf("problems = %+v, want one about add0/w", ve.Problems)
	}
}

func TestValidateReportsUnknownDomain(t *testing.T) {
	pb := tinyModel()
	pb.Graph.Node[0].Domain = proto.String("com.example")
	path, ve := validationOf(t, "domain.onnx", pb)
	wantMention(t, ve, path, `"add0"`, "unknown domain", "com.example")
}

func TestValidateReportsDanglingInputInsideSubgraph(t *testing.T) {
	path, ve := validationOf(t, "sub.onnx", ifModel("x", "ghost"))
	wantMention(t, ve, path, `"else_id"`, `"ghost"`, "if0.else_branch")
	if ve != nil && len(ve.Problems) != 1 {
		t.Errorf("problems = %+v, want exactly the else branch one", ve.Problems)
	}
}

func TestValidateRejectsSubgraphReadingValueDefinedAfterIt(t *testing.T) {
	pb := ifModel("x", "late")
	pb.Graph.Node = append(pb.Graph.Node, testmodel.NamedNode("late0", "Identity", []string{"x"}, []string{"late"}))
	_, ve := validationOf(t, "late.onnx", pb)
	wantMention(t, ve, `"late"`)
}

func TestValidateListsAllProblemsAtOnce(t *testing.T) {
	pb := tinyModel()
	pb.Graph.Initializer = nil
	pb.Graph.Node = append(pb.Graph.Node,
		testmodel.NamedNode("", "Relu", []string{"x"}, []string{"y"}), // duplicate output, unnamed
		&onnxpb.NodeProto{OpType: proto.String("Foo"), Domain: proto.String("x.y"), Input: []string{"", "x"}, Output: []string{"q"}})
	pb.Graph.Output = append(pb.Graph.Output, valueInfo("never"))
	_, ve := validationOf(t, "many.onnx", pb)
	wantMention(t, ve, `"w"`, `"#1"`, "duplicate output", `"#2"`, "unknown domain", `"never"`)
	if ve != nil && len(ve.Problems) != 4 {
		t.Errorf("got %d problems, want 4:\n%v", len(ve.Problems), ve)
	}
}

func TestSaveRefusesTheInputPath(t *testing.T) {
	dir := t.TempDir()
	path := writeModel(t, dir, "in.onnx", tinyModel())
	before, _ := os.ReadFile(path)
	m, err := onnxio.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	m.Proto.Graph.Name = proto.String("changed")
	for _, dst := range []string{path, filepath.Join(dir, ".", "in.onnx")} {
		err := m.Save(dst, onnxio.SaveOptions{})
		wantMention(t, err, path)
		if !errors.Is(err, onnxio.ErrOverwriteInput) {
			t.Errorf("Save(%s) = %v, want ErrOverwriteInput", dst, err)
		}
	}
	// A hard link to the input is the same file too.
	link := filepath.Join(dir, "link.onnx")
	if err := os.Link(path, link); err == nil {
		if err := m.Save(link, onnxio.SaveOptions{}); !errors.Is(err, onnxio.ErrOverwriteInput) {
			t.Errorf("Save(hard link) = %v, want ErrOverwriteInput", err)
		}
	}
	after, _ := os.ReadFile(path)
	if string(before) != string(after) {
		t.Error("input file was modified")
	}
}

func TestSaveIntoMissingFolderFailsAndLeavesNoFile(t *testing.T) {
	dir := t.TempDir()
	m := &onnxio.Model{Proto: tinyModel()}
	err := m.Save(filepath.Join(dir, "missing", "out.onnx"), onnxio.SaveOptions{})
	wantMention(t, err, "out.onnx")
	assertEmptyDir(t, dir)
}

// A failure after the data file was started (here: an external tensor
// whose file is gone) must not leave the data file or a temporary behind.
func TestSaveFailingMidwayLeavesNoFile(t *testing.T) {
	src := t.TempDir()
	pb := tinyModel()
	pb.Graph.Initializer = append(pb.Graph.Initializer, &onnxpb.TensorProto{Name: proto.String("big"), Dims: []int64{512},
		DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), RawData: make([]byte, 2048)})
	path := writeModel(t, src, "in.onnx", pb)
	m, err := onnxio.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ext := filepath.Join(src, "ext.onnx")
	if err := m.Save(ext, onnxio.SaveOptions{ExternalDataThreshold: 1024}); err != nil {
		t.Fatal(err)
	}
	me, err := onnxio.Load(ext)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(ext + ".data"); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	err = me.Save(filepath.Join(out, "out.onnx"), onnxio.SaveOptions{ExternalDataThreshold: 16})
	wantMention(t, err, "ext.onnx.data")
	assertEmptyDir(t, out)
	err = me.Save(filepath.Join(out, "out.onnx"), onnxio.SaveOptions{})
	wantMention(t, err, "ext.onnx.data")
	assertEmptyDir(t, out)
}

func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("%s holds %s after a failed Save", dir, e.Name())
	}
}
