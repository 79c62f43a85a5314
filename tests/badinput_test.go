package tests

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// failsCleanly runs quantize with args (the output is out) and checks the
// exit code, that stderr names every wanted fragment, and that no output
// is left.
func failsCleanly(t *testing.T, code int, out string, want []string, args ...string) {
	t.Helper()
	r := onnxquant(t, append([]string{"quantize"}, args...)...)
	if r.code != code {
		t.Errorf("exit %d, want %d; stderr:\n%s", r.code, code, r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
		}
	}
	mustNotExist(t, out)
}

func TestQuantizeRefusesFilesThatAreNotONNXModels(t *testing.T) {
	dir := t.TempDir()
	whole, err := os.ReadFile(repo("models", "tinynet.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.onnx")
	if err := os.WriteFile(truncated, whole[:len(whole)/3], 0o644); err != nil {
		t.Fatal(err)
	}
	text := filepath.Join(dir, "notes.onnx")
	if err := os.WriteFile(text, []byte("this is not a model\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{truncated, text} {
		t.Run(filepath.Base(in), func(t *testing.T) {
			out := filepath.Join(dir, "out.onnx")
			failsCleanly(t, 1, out, []string{in, "not an ONNX model"}, in, "--calib", "models/tinynet_calib", "-o", out)
		})
	}
}

func TestQuantizeNamesAMissingModelOrCalibrationPath(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.onnx")
	missing := filepath.Join(dir, "missing.onnx")
	failsCleanly(t, 1, out, []string{missing, "no such file"}, missing, "--calib", "models/tinynet_calib", "-o", out)
	noCalib := filepath.Join(dir, "no_calib")
	failsCleanly(t, 1, out, []string{noCalib, "does not exist"}, "models/tinynet.onnx", "--calib", noCalib, "-o", out)
}

func TestQuantizeRefusesAnEmptyCalibrationFolder(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.onnx")
	failsCleanly(t, 1, out, []string{empty, "holds no samples"}, "models/tinynet.onnx", "--calib", empty, "-o", out)
}

func TestQuantizeNamesTheBadSampleAndWhatIsWrongWithIt(t *testing.T) {
	dir := t.TempDir()
	good := exampleSample(t, dir, 0)
	write := func(name string, d *tensor.Dense) string {
		p := filepath.Join(dir, name)
		if err := dataset.WriteNPY(p, d); err != nil {
			t.Fatal(err)
		}
		return p
	}
	img := func(v float32) []float32 {
		x := make([]float32, 3*32*32)
		for i := range x {
			x[i] = float32(i%7) * 0.1
		}
		x[100] = v
		return x
	}
	cases := []struct {
		name   string
		sample string
		want   []string
	}{
		{"shape", write("wrong_shape.npy", tensor.New(tensor.WithShape(1, 3, 16, 16), tensor.WithBacking(make([]float32, 3*16*16)))),
			[]string{"wrong_shape.npy", `input "input"`, "shape"}},
		{"dtype", write("wrong_dtype.npy", tensor.New(tensor.WithShape(1, 3, 32, 32), tensor.WithBacking(make([]float64, 3*32*32)))),
			[]string{"wrong_dtype.npy", `input "input"`, "float64"}},
		{"nan", write("nan.npy", tensor.New(tensor.WithShape(1, 3, 32, 32), tensor.WithBacking(img(float32(math.NaN()))))),
			[]string{"nan.npy", "NaN"}},
		{"inf", write("inf.npy", tensor.New(tensor.WithShape(1, 3, 32, 32), tensor.WithBacking(img(float32(math.Inf(1)))))),
			[]string{"inf.npy", "Inf"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(dir, "out.onnx")
			failsCleanly(t, 1, out, c.want, "models/tinynet.onnx", "--calib", good, "--calib", c.sample, "-o", out)
		})
	}
}

func TestQuantizeNeverOverwritesItsInput(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "model.onnx")
	before, err := os.ReadFile(repo("models", "tinynet.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, before, 0o644); err != nil {
		t.Fatal(err)
	}
	// The same file spelled two ways: a usage error, found before any work.
	for _, out := range []string{in, filepath.Join(dir, ".", "model.onnx")} {
		r := onnxquant(t, "quantize", in, "--calib", "models/tinynet_calib", "-o", out)
		if r.code != 2 || !strings.Contains(r.stderr, "is the input model") {
			t.Errorf("-o %s: exit %d, stderr %q", out, r.code, r.stderr)
		}
		after, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(before, after) {
			t.Fatalf("-o %s changed the input model", out)
		}
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".model.onnx*"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestQuantizeFailsOnAnUnwritableOutput(t *testing.T) {
	dir := t.TempDir()
	noDir := filepath.Join(dir, "no", "such", "dir", "out.onnx")
	failsCleanly(t, 1, noDir, []string{filepath.Join(dir, "no", "such", "dir"), "no such file"},
		"models/tinynet.onnx", "--calib", "models/tinynet_calib", "-o", noDir)
	// A file where a folder should be.
	file := filepath.Join(dir, "plain")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	underFile := filepath.Join(file, "out.onnx")
	r := onnxquant(t, "quantize", "models/tinynet.onnx", "--calib", "models/tinynet_calib", "-o", underFile)
	if r.code != 1 || !strings.Contains(r.stderr, file) {
		t.Errorf("output under a file: exit %d, stderr %q", r.code, r.stderr)
	}
	if os.Geteuid() == 0 {
		t.Log("running as root: a read-only folder would be writable, not tested")
		return
	}
	ro := filepath.Join(dir, "readonly")
	if err := os.Mkdir(ro, 0o555); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(ro, "out.onnx")
	failsCleanly(t, 1, out, []string{out, "permission denied"}, "models/tinynet.onnx", "--calib", "models/tinynet_calib", "-o", out)
}

func TestQuantizeUsageMistakesExitWithTwo(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.onnx")
	base := []string{"models/tinynet.onnx", "--calib", "models/tinynet_calib", "-o", out}
	failsCleanly(t, 2, out, []string{`unknown target "ethos-u99-1"`, "ethos-u85-256"}, append(base, "--target", "ethos-u99-1")...)
	failsCleanly(t, 2, out, []string{`"int4"`, "a16w8"}, append(base, "--scheme", "int4")...)
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte("global: int8\nmodule_nmae:\n  features: a16w8\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	failsCleanly(t, 2, out, []string{cfg, "module_nmae"}, append(base, "--config", cfg)...)
	if err := os.WriteFile(cfg, []byte("global: int3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	failsCleanly(t, 2, out, []string{"global", `"int3"`}, append(base, "--config", cfg)...)
}

// unsupportedModel is x → Relu → (TopK values, NonZero indices, and with
// exotic, NonMaxSuppression and Unique): ops Ethos-U cannot run.
func unsupportedModel(t *testing.T, dir string, exotic bool) string {
	b := testmodel.New(13).Input("x", 1, 8).InitInt64("k", []int64{1}, 3).
		NamedNode("/act/Relu", "Relu", []string{"x"}, []string{"r"}).
		NamedNode("/top/TopK", "TopK", []string{"r", "k"}, []string{"values", "indices"}).
		NamedNode("/nz/NonZero", "NonZero", []string{"r"}, []string{"nz"}).
		OutputOfRank("values", onnxpb.TensorProto_FLOAT, 2).OutputOfRank("nz", onnxpb.TensorProto_INT64, 2)
	name := "topk_nonzero.onnx"
	if exotic {
		name = "nms_unique.onnx"
		b.Init("boxes", []int64{4}, 0, 0, 1, 1).NamedNode("/u/Unsqueeze", "Unsqueeze", []string{"r"}, []string{"scores"})
		b.Graph().Node[len(b.Graph().Node)-1].Input = append(b.Graph().Node[len(b.Graph().Node)-1].Input, "axes")
		b.InitInt64("axes", []int64{1}, 0)
		b.NamedNode("/nms/NonMaxSuppression", "NonMaxSuppression", []string{"boxes3", "scores"}, []string{"selected"}).
			NamedNode("/b/Reshape", "Reshape", []string{"boxes", "shape3"}, []string{"boxes3"}).InitInt64("shape3", []int64{3}, 1, 1, 4).
			NamedNode("/uq/Unique", "Unique", []string{"r"}, []string{"uniq"}).
			OutputOfRank("selected", onnxpb.TensorProto_INT64, 2).OutputOfRank("uniq", onnxpb.TensorProto_FLOAT, 1)
		// Topological order: the Reshape feeding NonMaxSuppression first.
		n := len(b.Graph().Node)
		b.Graph().Node[n-3], b.Graph().Node[n-2] = b.Graph().Node[n-2], b.Graph().Node[n-3]
	}
	return b.Save(t, dir, name)
}

func TestQuantizeListsEveryOperatorEthosUCannotRun(t *testing.T) {
	dir := t.TempDir()
	calibDir := writeSamples(t, 2, []int{1, 8}, func(i, j int) float32 { return float32(j-3) * 0.25 * float32(i+1) })
	in := unsupportedModel(t, dir, false)
	out := filepath.Join(dir, "out.onnx")
	failsCleanly(t, 1, out, []string{`"/top/TopK" (TopK)`, `"/nz/NonZero" (NonZero)`, "ethos-u55-128"}, in, "--calib", calibDir, "-o", out)

	in = unsupportedModel(t, dir, true)
	failsCleanly(t, 1, out, []string{"NonMaxSuppression", "Unique"}, in, "--calib", calibDir, "-o", out)
}
