package lower_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

var npyShapeRe = regexp.MustCompile(`'shape':\s*\(([^)]*)\)`)

// npyShape reads the shape from a .npy header.
func npyShape(path string) ([]int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 10 || !bytes.HasPrefix(b, []byte("\x93NUMPY")) {
		return nil, fmt.Errorf("%s: not a .npy file", path)
	}
	var hlen, off int
	if b[6] == 1 {
		hlen, off = int(binary.LittleEndian.Uint16(b[8:])), 10
	} else {
		hlen, off = int(binary.LittleEndian.Uint32(b[8:])), 12
	}
	m := npyShapeRe.FindSubmatch(b[off : off+hlen])
	if m == nil {
		return nil, fmt.Errorf("%s: no shape in header", path)
	}
	shape := []int64{}
	for _, f := range strings.Split(string(m[1]), ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		d, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: shape %q: %v", path, m[1], err)
		}
		shape = append(shape, d)
	}
	return shape, nil
}

// calibInputShapes reads the input shapes of a model's sample_000.
func calibInputShapes(t *testing.T, dir, model string, inputs []string) map[string][]int64 {
	t.Helper()
	base := filepath.Join(dir, "calib", testenv.CalibSets(model)[0], "sample_000")
	out := map[string][]int64{}
	if len(inputs) == 1 {
		if s, err := npyShape(base + ".npy"); err == nil {
			out[inputs[0]] = s
			return out
		}
	}
	for _, in := range inputs {
		s, err := npyShape(filepath.Join(base, in+".npy"))
		if err != nil {
			t.Fatalf("%s: %v", model, err)
		}
		out[in] = s
	}
	return out
}

func loadModel(t *testing.T, path string) *onnxpb.ModelProto {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := &onnxpb.ModelProto{}
	if err := proto.Unmarshal(b, m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

func corpusModels(t *testing.T) (string, []string) {
	dir := testenv.Corpus(t)
	var files []string
	for _, m := range testenv.CorpusModels() {
		files = append(files, filepath.Join(dir, "models", m+".onnx"))
	}
	return dir, files
}

func lowerFile(t *testing.T, path string) *lower.GraphModule {
	t.Helper()
	gm, err := lower.Lower(loadModel(t, path), filepath.Dir(path))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return gm
}

func inputNames(gm *lower.GraphModule) []string {
	var out []string
	for _, p := range gm.Graph.Placeholders() {
		out = append(out, p.Outputs[0].Name)
	}
	return out
}

func dimsString(ds []lower.Dim) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		switch {
		case d.Param != "":
			s[i] = d.Param
		case d.Value >= 0:
			s[i] = strconv.FormatInt(d.Value, 10)
		default:
			s[i] = "?"
		}
	}
	return "[" + strings.Join(s, ",") + "]"
}

func knownDims(ds []lower.Dim) ([]int64, bool) {
	out := make([]int64, len(ds))
	for i, d := range ds {
		if !d.Known() {
			return nil, false
		}
		out[i] = d.Value
	}
	return out, true
}
