package dataset_test

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/internal/testenv"
)

func TestNPYRoundTripKeepsDtypeShapeAndValues(t *testing.T) {
	dir := t.TempDir()
	for name, d := range map[string]*tensor.Dense{
		"float32": dense([]int{2, 3}, float32(1.5), -2, 3, 4e-9, 5, 6),
		"float64": dense([]int{2}, 1e300, -0.25),
		"int64":   dense([]int{1, 2}, int64(-1)<<40, 7),
		"int32":   dense([]int{3}, int32(-5), 0, 2147483647),
		"int16":   dense([]int{2}, int16(-32768), 12),
		"int8":    dense([]int{2, 2}, int8(-128), 127, 0, 1),
		"uint8":   dense([]int{1, 1, 3}, uint8(255), 0, 9),
		"bool":    dense([]int{3}, true, false, true),
		"scalar":  dense([]int{}, int64(16000)),
		"one":     dense([]int{1}, float32(-3)),
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name+".npy")
			writeNPY(t, path, d)
			got, err := dataset.ReadNPY(path)
			if err != nil {
				t.Fatal(err)
			}
			if got.Dtype() != d.Dtype() || !reflect.DeepEqual([]int(got.Shape()), []int(d.Shape())) {
				t.Fatalf("read %v %v, wrote %v %v", got.Dtype(), got.Shape(), d.Dtype(), d.Shape())
			}
			if !reflect.DeepEqual(got.Data(), d.Data()) {
				t.Errorf("read %v, wrote %v", got.Data(), d.Data())
			}
		})
	}
}

// The corpus files were written by numpy.save; reading and re-writing them
// must give the same bytes, which checks reader and writer against numpy.
func TestNPYRewriteOfNumpyFilesIsByteIdentical(t *testing.T) {
	corpus := testenv.Corpus(t)
	for _, rel := range []string{
		"calib/image32/sample_000.npy",                  // float32 [1 3 32 32]
		"calib/silero_legacy_16k/sample_000/sr.npy",     // int64 0-d
		"calib/branchy/sample_003/mode.npy",             // float32 [1]
		"reference/silero_vad_legacy/sample_000/hn.npy", // float32 [2 1 64]
	} {
		src := filepath.Join(corpus, rel)
		want, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		d, err := dataset.ReadNPY(src)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "x.npy")
		if err := dataset.WriteNPY(out, d); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(out)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: rewrite differs from numpy's file (%d vs %d bytes)", rel, len(got), len(want))
		}
	}
}

func TestNPYScalarIsZeroDimensional(t *testing.T) {
	corpus := testenv.Corpus(t)
	sr, err := dataset.ReadNPY(filepath.Join(corpus, "calib", "silero_legacy_8k", "sample_000", "sr.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if !sr.IsScalar() || sr.Dtype() != tensor.Int64 {
		t.Fatalf("sr.npy read as %v %v, want a 0-d int64", sr.Dtype(), sr.Shape())
	}
	if sr.Data() != int64(8000) {
		t.Errorf("sr = %v, want 8000", sr.Data())
	}
}

func TestReadNPYRejectsBadFiles(t *testing.T) {
	dir := t.TempDir()
	header := func(descr, shape string) []byte {
		h := "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }\n"
		return append([]byte("\x93NUMPY\x01\x00"+string(rune(len(h)))+"\x00"), h...)
	}
	for name, tc := range map[string]struct {
		content []byte
		want    string
	}{
		"float16":   {append(header("<f2", "(2,)"), 0, 0, 0, 0), "float16"},
		"truncated": {append(header("<f4", "(4,)"), 0, 0, 0, 0), "only 4 bytes of data follow"},
		"notnpy":    {[]byte("hello world"), "not a .npy file"},
		"zerodim":   {header("<f4", "(0, 3)"), "zero"},
	} {
		path := filepath.Join(dir, name+".npy")
		if err := os.WriteFile(path, tc.content, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := dataset.ReadNPY(path)
		if err == nil {
			t.Errorf("%s: read succeeded", name)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %q does not name the file and %q", name, err, tc.want)
		}
	}
}
