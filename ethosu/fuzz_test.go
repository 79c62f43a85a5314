package ethosu_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio"
)

// fuzzSeedLimit skips corpus models above this size as seeds: the fuzzer
// mutates every byte it is given, and big weight blobs only slow it down.
const fuzzSeedLimit = 4 << 20

// fuzzLimits keep one fuzz input from taking the machine: a model asking
// for more is refused, which is the behaviour under test.
var fuzzLimits = onnxio.Limits{MaxTensorBytes: 64 << 20, MaxLoopTrips: 10000}

// FuzzCheckQuantize feeds arbitrary model bytes through the check path
// (decode, lower, infer shapes, legality) and the quantize path (with one
// synthesized calibration sample per model). Errors are the expected
// outcome for most inputs; a panic is a failure. Seeds are the example
// model and, read at run time, the small models of $ONNXQUANT_CORPUS
// (corpus files are never copied into the repository); scripts/test.sh
// runs it for 60 s.
func FuzzCheckQuantize(f *testing.F) {
	if b, err := os.ReadFile("../models/tinynet.onnx"); err == nil {
		f.Add(b)
	}
	if b, err := proto.Marshal(testmodel.Chain(6)); err == nil {
		f.Add(b)
	}
	root := os.Getenv("ONNXQUANT_CORPUS")
	if root == "" && os.Getenv("CI") != "" {
		f.Fatal("ONNXQUANT_CORPUS is not set (CI needs the corpus)")
	}
	if root != "" {
		entries, err := os.ReadDir(filepath.Join(root, "models"))
		if err != nil {
			f.Fatalf("corpus: %v", err)
		}
		for _, e := range entries {
			info, err := e.Info()
			if err != nil || !strings.HasSuffix(e.Name(), ".onnx") || info.Size() > fuzzSeedLimit {
				continue
			}
			b, err := os.ReadFile(filepath.Join(root, "models", e.Name()))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := onnxio.Read(bytes.NewReader(data), "fuzz.onnx", "")
		if err != nil {
			return
		}
		gm, err := lower.Lower(m.Proto, "")
		if err != nil {
			return
		}
		gm.Limits = fuzzLimits
		spec, err := ethosu.NewCompileSpec("ethos-u55-128", "", "")
		if err != nil {
			t.Fatal(err)
		}
		if err := lower.InferShapes(gm, nil); err == nil {
			_ = ethosu.Check(gm, spec).Err()
		}
		// Quantize a fresh lowering (Check's inference changed gm).
		gm, err = lower.Lower(m.Proto, "")
		if err != nil {
			t.Fatalf("second Lower of the same model failed: %v", err)
		}
		gm.Limits = fuzzLimits
		sample, ok := synthSample(t, dataset.InputSpecs(gm))
		if !ok {
			return
		}
		set, err := dataset.Open([]string{sample}, dataset.InputSpecs(gm))
		if err != nil {
			if os.Getenv("ONNXQUANT_FUZZ_VERBOSE") != "" {
				t.Logf("samples: %v", err)
			}
			return
		}
		q := ethosu.NewEthosUQuantizer(spec)
		cfg, _ := ethosu.SchemeConfig("int8", false)
		q.SetGlobal(cfg)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err = q.QuantizeWithSubmodules(ctx, gm, set, false)
		if os.Getenv("ONNXQUANT_FUZZ_VERBOSE") != "" {
			t.Logf("quantize: %v", err)
		}
	})
}

// synthSample writes one sample folder with an array per input (dynamic
// sizes 1, values a small ramp); ok is false when an input cannot be
// made (an unknown dtype, or a size over 1M elements).
func synthSample(t *testing.T, specs []dataset.InputSpec) (string, bool) {
	if len(specs) == 0 {
		return "", false
	}
	dir := t.TempDir()
	for _, s := range specs {
		if s.Name == "" || strings.ContainsAny(s.Name, `/\`) || s.Name == "." || s.Name == ".." {
			return "", false
		}
		shape := make([]int, len(s.Shape))
		n := 1
		for i, d := range s.Shape {
			shape[i] = max(d, 1)
			n *= shape[i]
			if n > 1<<20 {
				return "", false
			}
		}
		var backing any
		switch s.DType {
		case tensor.Float32:
			v := make([]float32, n)
			for i := range v {
				v[i] = float32(i%13)/6 - 1
			}
			backing = v
		case tensor.Int64:
			backing = make([]int64, n)
		case tensor.Int32:
			backing = make([]int32, n)
		case tensor.Bool:
			backing = make([]bool, n)
		default:
			return "", false
		}
		d := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(backing))
		if len(shape) == 0 {
			d = tensor.New(tensor.FromScalar(reflect.ValueOf(backing).Index(0).Interface()))
		}
		if err := dataset.WriteNPY(filepath.Join(dir, s.Name+".npy"), d); err != nil {
			return "", false
		}
	}
	return dir, true
}
