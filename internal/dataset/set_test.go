package dataset_test

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/internal/testenv"
)

func image(name string, shape ...int) []dataset.InputSpec {
	return []dataset.InputSpec{{Name: name, DType: tensor.Float32, Shape: shape}}
}

var (
	branchySpecs = []dataset.InputSpec{
		{Name: "image", DType: tensor.Float32, Shape: []int{1, 3, 32, 32}},
		{Name: "mode", DType: tensor.Float32, Shape: []int{1}},
	}
	sileroSpecs = []dataset.InputSpec{
		{Name: "input", DType: tensor.Float32, Shape: []int{-1, -1}, DimNames: []string{"batch", "samples"}},
		{Name: "sr", DType: tensor.Int64, Shape: []int{}},
		{Name: "h", DType: tensor.Float32, Shape: []int{2, -1, 64}, DimNames: []string{"", "batch", ""}},
		{Name: "c", DType: tensor.Float32, Shape: []int{2, 0, 64}, DimNames: []string{"", "batch", ""}},
	}
)

// Specs written from the corpus README, checked against every sample.
func TestEveryCorpusCalibrationFolderLoads(t *testing.T) {
	corpus := testenv.Corpus(t)
	for _, tc := range []struct {
		folder string
		specs  []dataset.InputSpec
		n      int
		check  func(t *testing.T, s dataset.Sample)
	}{
		{folder: "imagenet224", specs: image("input", 1, 3, 224, 224), n: 16},
		{folder: "image32", specs: image("input", 1, 3, 32, 32), n: 16},
		{folder: "logmel16x40", specs: image("features", 1, 16, 40), n: 16},
		{folder: "ocr_cls48x192", specs: image("x", 1, 3, 48, 192), n: 16, check: func(t *testing.T, s dataset.Sample) {
			for _, v := range s.Inputs["x"].Data().([]float32) {
				if v < -1 || v > 1 {
					t.Fatalf("%s: value %v outside the README's [-1, 1]", s.Name, v)
				}
			}
		}},
		{folder: "branchy", specs: branchySpecs, n: 16, check: func(t *testing.T, s dataset.Sample) {
			m := s.Inputs["mode"].Data().([]float32)[0]
			if m < -3 || m > 3 {
				t.Errorf("%s: mode %v is outside the README's [-3, 3]", s.Name, m)
			}
		}},
		{folder: "silero_legacy_16k", specs: sileroSpecs, n: 20, check: func(t *testing.T, s dataset.Sample) {
			if sr := s.Inputs["sr"].Data(); sr != int64(16000) || s.Dims["samples"] != 512 || s.Dims["batch"] != 1 {
				t.Errorf("%s: sr %v, dims %v; want 16000, 512 samples, batch 1", s.Name, sr, s.Dims)
			}
		}},
		{folder: "silero_legacy_8k", specs: sileroSpecs, n: 20, check: func(t *testing.T, s dataset.Sample) {
			if sr := s.Inputs["sr"].Data(); sr != int64(8000) || s.Dims["samples"] != 256 {
				t.Errorf("%s: sr %v, dims %v; want 8000, 256 samples", s.Name, sr, s.Dims)
			}
		}},
	} {
		t.Run(tc.folder, func(t *testing.T) {
			dir := filepath.Join(corpus, "calib", tc.folder)
			set := open(t, tc.specs, dir)
			if set.Len() != tc.n {
				t.Fatalf("%d samples, want %d", set.Len(), tc.n)
			}
			names := set.Names()
			if !strings.HasPrefix(names[0], filepath.Join(dir, "sample_000")) || !strings.HasPrefix(names[tc.n-1], filepath.Join(dir, "sample_0")) {
				t.Errorf("names %v", names)
			}
			for i := range set.Len() {
				s, err := set.Load(i)
				if err != nil {
					t.Fatal(err)
				}
				if s.Name != names[i] || len(s.Inputs) != len(tc.specs) {
					t.Fatalf("sample %d: name %q with %d inputs", i, s.Name, len(s.Inputs))
				}
				if tc.check != nil {
					tc.check(t, s)
				}
			}
		})
	}
}

func TestSampleOrderIsByName(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"b.npy", "a.npy", "c.npy", "notes.txt", ".hidden.npy"} {
		writeNPY(t, filepath.Join(dir, n), zeros(1, 2))
	}
	set := open(t, image("x", 1, 2), dir)
	want := []string{filepath.Join(dir, "a.npy"), filepath.Join(dir, "b.npy"), filepath.Join(dir, "c.npy")}
	if got := set.Names(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("names %v, want %v", got, want)
	}
}

func TestWrongShapeNamesSampleInputAndBothShapes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sample_003.npy")
	writeNPY(t, path, zeros(1, 3, 32, 32))
	se := loadErr(t, open(t, image("input", 1, 3, 224, 224), path), dataset.ErrShapeMismatch)
	want := `sample "` + path + `": input "input": shape [1 3 32 32] does not match the model's [1 3 224 224]`
	if se.Error() != want || se.Sample != path || se.Input != "input" {
		t.Errorf("error %q\nwant  %q", se, want)
	}
}

func TestWrongRankAgainstDynamicShapeShowsDimensionNames(t *testing.T) {
	dir := t.TempDir()
	sample := filepath.Join(dir, "s0")
	writeNPY(t, filepath.Join(sample, "input.npy"), zeros(512))
	writeNPY(t, filepath.Join(sample, "sr.npy"), dense([]int{}, int64(16000)))
	writeNPY(t, filepath.Join(sample, "h.npy"), zeros(2, 1, 64))
	writeNPY(t, filepath.Join(sample, "c.npy"), zeros(2, 1, 64))
	se := loadErr(t, open(t, sileroSpecs, dir), dataset.ErrShapeMismatch)
	if want := "shape [512] does not match the model's [batch samples]"; !strings.Contains(se.Error(), want) || se.Input != "input" {
		t.Errorf("error %q, want input %q and %q", se, "input", want)
	}
}

func TestNamedDynamicDimensionMustAgreeWithinSample(t *testing.T) {
	dir := t.TempDir()
	writeNPY(t, filepath.Join(dir, "input.npy"), zeros(1, 512))
	writeNPY(t, filepath.Join(dir, "sr.npy"), dense([]int{}, int64(16000)))
	writeNPY(t, filepath.Join(dir, "h.npy"), zeros(2, 3, 64))
	writeNPY(t, filepath.Join(dir, "c.npy"), zeros(2, 1, 64))
	se := loadErr(t, open(t, sileroSpecs, dir), dataset.ErrShapeMismatch)
	if se.Input != "h" || !strings.Contains(se.Error(), `"batch" = 3`) {
		t.Errorf("error %q, want input h and batch = 3", se)
	}
}

func TestScalarInputRejectsOneElementArray(t *testing.T) {
	dir := t.TempDir()
	writeNPY(t, filepath.Join(dir, "input.npy"), zeros(1, 512))
	writeNPY(t, filepath.Join(dir, "sr.npy"), dense([]int{1}, int64(16000)))
	writeNPY(t, filepath.Join(dir, "h.npy"), zeros(2, 1, 64))
	writeNPY(t, filepath.Join(dir, "c.npy"), zeros(2, 1, 64))
	se := loadErr(t, open(t, sileroSpecs, dir), dataset.ErrShapeMismatch)
	if want := `input "sr": shape [1] does not match the model's []`; !strings.Contains(se.Error(), want) {
		t.Errorf("error %q, want %q", se, want)
	}
}

func TestWrongDtypeNamesBothDtypes(t *testing.T) {
	dir := t.TempDir()
	writeNPY(t, filepath.Join(dir, "image.npy"), zeros(1, 3, 32, 32))
	writeNPY(t, filepath.Join(dir, "mode.npy"), dense([]int{1}, int64(2)))
	se := loadErr(t, open(t, branchySpecs, dir), dataset.ErrDtypeMismatch)
	want := `sample "` + dir + `": input "mode": dtype int64 does not match the model's float32`
	if se.Error() != want {
		t.Errorf("error %q\nwant  %q", se, want)
	}
}

func TestNonFiniteValuesAreErrors(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for name, bad := range map[string]*tensor.Dense{
		"nan":    dense([]int{1, 4}, 0, 1, nan, 3),
		"posinf": dense([]int{1, 4}, 0, 1, 2, inf),
		"neginf": dense([]int{1, 4}, -inf, 1, 2, 3),
		"double": dense([]int{1, 4}, 0, 1, 2, math.NaN()),
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), name+".npy")
			writeNPY(t, path, bad)
			specs := []dataset.InputSpec{{Name: "input", DType: bad.Dtype(), Shape: []int{1, 4}}}
			se := loadErr(t, open(t, specs, path), dataset.ErrNonFinite)
			if se.Sample != path || se.Input != "input" || !strings.HasPrefix(se.Error(), `sample "`+path+`": input "input": `) {
				t.Errorf("error %q does not name the sample and input", se)
			}
		})
	}
}

func TestMissingAndUnknownInputs(t *testing.T) {
	dir := t.TempDir()
	writeNPY(t, filepath.Join(dir, "image.npy"), zeros(1, 3, 32, 32))
	se := loadErr(t, open(t, branchySpecs, dir), dataset.ErrMissingInput)
	if se.Input != "mode" || se.Sample != dir {
		t.Errorf("error %q, want input mode of %s", se, dir)
	}
	writeNPY(t, filepath.Join(dir, "mode.npy"), zeros(1))
	writeNPY(t, filepath.Join(dir, "speed.npy"), zeros(1))
	se = loadErr(t, open(t, branchySpecs, dir), dataset.ErrUnknownInput)
	if se.Input != "speed" {
		t.Errorf("error %q, want input speed", se)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	missing := filepath.Join(dir, "nope")
	multi := filepath.Join(dir, "one.npy")
	writeNPY(t, multi, zeros(1))
	junk := filepath.Join(dir, "junk")
	os.MkdirAll(filepath.Join(junk, "sub"), 0o755)
	os.WriteFile(filepath.Join(junk, "sub", "readme.txt"), nil, 0o644)

	_, err := dataset.Open([]string{missing}, branchySpecs)
	if err == nil || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing path: %v", err)
	}
	_, err = dataset.Open([]string{empty}, branchySpecs)
	if err == nil || !strings.Contains(err.Error(), empty) || !strings.Contains(err.Error(), "no samples") {
		t.Errorf("empty folder: %v", err)
	}
	_, err = dataset.Open([]string{multi}, branchySpecs)
	if err == nil || !strings.Contains(err.Error(), multi) || !strings.Contains(err.Error(), "2 inputs") {
		t.Errorf(".npy for a two-input model: %v", err)
	}
	_, err = dataset.Open([]string{junk}, branchySpecs)
	if err == nil || !strings.Contains(err.Error(), `"sub"`) {
		t.Errorf("folder with a non-sample subfolder: %v", err)
	}
}

func TestNPZSamples(t *testing.T) {
	dir := t.TempDir()
	image := zeros(1, 3, 32, 32)
	mode := dense([]int{1}, float32(-2))
	named := filepath.Join(dir, "a_named.npz")
	writeNPZ(t, named, map[string]*tensor.Dense{"image.npy": image, "mode.npy": mode})
	positional := filepath.Join(dir, "b_positional.npz")
	writeNPZ(t, positional, map[string]*tensor.Dense{"arr_0.npy": image, "arr_1.npy": mode})
	set := open(t, branchySpecs, dir)
	if set.Len() != 2 {
		t.Fatalf("%d samples, want 2", set.Len())
	}
	for i := range 2 {
		s, err := set.Load(i)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Inputs["mode"].Data().([]float32); got[0] != -2 {
			t.Errorf("%s: mode %v, want [-2]", s.Name, got)
		}
	}
}

func writeNPZ(t *testing.T, path string, arrays map[string]*tensor.Dense) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, d := range arrays {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		tmp := filepath.Join(t.TempDir(), name)
		writeNPY(t, tmp, d)
		b, _ := os.ReadFile(tmp)
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// An ONNX node test folder is a data set: model.onnx is ignored and
// test_data_set_0 is a sample whose TensorProtos name the inputs.
func TestONNXTestDataSet(t *testing.T) {
	corpus := testenv.Corpus(t)
	dir := filepath.Join(corpus, "onnx-node", "test_add_bcast")
	specs := []dataset.InputSpec{
		{Name: "x", DType: tensor.Float32, Shape: []int{3, 4, 5}},
		{Name: "y", DType: tensor.Float32, Shape: []int{5}},
	}
	for _, p := range []string{dir, filepath.Join(dir, "test_data_set_0")} {
		set := open(t, specs, p)
		if set.Len() != 1 || set.Names()[0] != filepath.Join(dir, "test_data_set_0") {
			t.Fatalf("%s: samples %v", p, set.Names())
		}
		s, err := set.Load(0)
		if err != nil {
			t.Fatal(err)
		}
		// The expected output is x + y broadcast: check one element.
		_, out, err := dataset.ReadTensorProto(filepath.Join(dir, "test_data_set_0", "output_0.pb"))
		if err != nil {
			t.Fatal(err)
		}
		x := s.Inputs["x"].Data().([]float32)
		y := s.Inputs["y"].Data().([]float32)
		if got := out.Data().([]float32)[23]; got != x[23]+y[23%5] {
			t.Errorf("output[23] = %v, want x[23]+y[3] = %v", got, x[23]+y[3])
		}
	}
	// With other input names, the N-th file feeds the N-th input.
	renamed := []dataset.InputSpec{specs[0], specs[1]}
	renamed[0].Name, renamed[1].Name = "a", "b"
	s, err := open(t, renamed, dir).Load(0)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Inputs["a"].Shape().Eq(tensor.Shape{3, 4, 5}) || !s.Inputs["b"].Shape().Eq(tensor.Shape{5}) {
		t.Errorf("positional inputs: a %v, b %v", s.Inputs["a"].Shape(), s.Inputs["b"].Shape())
	}
}

func TestTensorProtoTypedFields(t *testing.T) {
	corpus := testenv.Corpus(t)
	for _, tc := range []struct {
		test  string
		dtype tensor.Dtype
	}{
		{"test_and2d", tensor.Bool},
		{"test_mod_int64_fmod", tensor.Int64},
		{"test_cast_FLOAT_to_DOUBLE", tensor.Float64},
		{"test_quantizelinear", tensor.Uint8},
	} {
		_, d, err := dataset.ReadTensorProto(filepath.Join(corpus, "onnx-node", tc.test, "test_data_set_0", "output_0.pb"))
		if err != nil {
			t.Fatalf("%s: %v", tc.test, err)
		}
		if d.Dtype() != tc.dtype {
			t.Errorf("%s: dtype %v, want %v", tc.test, d.Dtype(), tc.dtype)
		}
	}
}

// Released arrays are read into again: every sample must still load its
// own values, whichever sample's memory it gets and whatever size that was.
func TestLoadAfterReleaseReadsEachSamplesValues(t *testing.T) {
	dir := t.TempDir()
	for i, vals := range [][]float32{{1, 2, 3, 4}, {5, 6, 7, 8}, {-1, -2, -3, -4}} {
		writeNPY(t, filepath.Join(dir, fmt.Sprintf("s%d.npy", i)), dense([]int{1, 4}, vals...))
	}
	set := open(t, image("x", 1, 4), dir)
	want := [][]float32{{1, 2, 3, 4}, {5, 6, 7, 8}, {-1, -2, -3, -4}}
	for round := range 3 {
		for i := range set.Len() {
			smp, err := set.Load(i)
			if err != nil {
				t.Fatal(err)
			}
			if got := smp.Inputs["x"].Data().([]float32); !slices.Equal(got, want[i]) {
				t.Fatalf("round %d sample %d: %v, want %v", round, i, got, want[i])
			}
			set.Release(smp)
		}
	}
}
