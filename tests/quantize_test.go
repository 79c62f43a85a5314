package tests

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/internal/metrics"
	"github.com/onnxquant/onnxquant/internal/testoracle"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// calibSubset links the first n samples of the example model's set into a
// temporary folder, so accuracy is measured on samples not used to calibrate.
func calibSubset(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("sample_%03d.npy", i)
		if err := os.Symlink(repo("models", "tinynet_calib", name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestReadmeQuantizeCommandGivesAnAccurateLegalModel(t *testing.T) {
	oracles := testoracle.All(t)
	out := filepath.Join(t.TempDir(), "tinynet_int8.onnx")
	for _, target := range []string{"ethos-u55-128", "ethos-u85-256"} {
		for _, scheme := range []string{"int8", "a16w8"} {
			t.Run(target+"/"+scheme, func(t *testing.T) {
				r := onnxquant(t, "quantize", "models/tinynet.onnx", "--calib", calibSubset(t, 12), "-o", out, "--target", target, "--scheme", scheme, "--quiet")
				if r.code != 0 {
					t.Fatalf("quantize: exit %d: %s", r.code, r.stderr)
				}
				if c := onnxquant(t, "check", out, "--target", target); c.code != 0 {
					t.Fatalf("check: exit %d: %s", c.code, c.stderr)
				}
				assertQDQDtypes(t, out, scheme)
				// Floors set a few dB under the measured values (see docs/accuracy.md).
				floor := 25.0
				if scheme == "a16w8" {
					floor = 35
				}
				for _, o := range oracles {
					sqnr, agree := accuracy(t, o, repo("models", "tinynet.onnx"), out, 12, 16)
					t.Logf("%s %s in %s: SQNR %.1f dB, argmax agreement %.2f", target, scheme, o.Name, sqnr, agree)
					if sqnr < floor || agree < 0.75 {
						t.Errorf("%s: SQNR %.1f dB (floor %.0f), argmax agreement %.2f", o.Name, sqnr, floor, agree)
					}
				}
			})
		}
	}
}

// assertQDQDtypes checks that every activation QuantizeLinear produces the
// scheme's type, every weight is int8 per channel and every bias int32.
func assertQDQDtypes(t *testing.T, path, scheme string) {
	t.Helper()
	m, err := onnxio.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	inits := map[string]*onnxpb.TensorProto{}
	for _, in := range m.Proto.Graph.Initializer {
		inits[in.GetName()] = in
	}
	want := int32(onnxpb.TensorProto_INT8)
	if scheme == "a16w8" {
		want = int32(onnxpb.TensorProto_INT16)
	}
	for _, n := range m.Proto.Graph.Node {
		switch n.GetOpType() {
		case "QuantizeLinear":
			zp := inits[n.Input[2]]
			if zp.GetDataType() != want {
				t.Errorf("%s: zero point type %d, want %d", n.GetName(), zp.GetDataType(), want)
			}
			if scheme == "a16w8" && !bytes.Equal(zp.RawData, []byte{0, 0}) {
				t.Errorf("%s: int16 zero point %v is not 0", n.GetName(), zp.RawData)
			}
		case "Conv", "Gemm":
			// Weights and bias come through DequantizeLinear of integer initializers.
			for i, in := range n.Input[1:] {
				dq := producer(m.Proto.Graph, in)
				if dq == nil || dq.GetOpType() != "DequantizeLinear" {
					t.Errorf("%s input %d is not dequantized", n.GetName(), i+1)
					continue
				}
				q := inits[dq.Input[0]]
				wantType := int32(onnxpb.TensorProto_INT8)
				if i == 1 {
					wantType = int32(onnxpb.TensorProto_INT32)
				}
				if q.GetDataType() != wantType {
					t.Errorf("%s input %d: %d, want %d", n.GetName(), i+1, q.GetDataType(), wantType)
				}
				if i == 0 {
					for _, b := range q.RawData {
						if int8(b) == -128 {
							t.Errorf("%s weight uses -128; weights are in [-127, 127]", n.GetName())
							break
						}
					}
				}
			}
		}
	}
}

func producer(g *onnxpb.GraphProto, value string) *onnxpb.NodeProto {
	for _, n := range g.Node {
		for _, o := range n.Output {
			if o == value {
				return n
			}
		}
	}
	return nil
}

// accuracy runs the float and quantized model files in o on samples
// [from, to) of the example set and returns SQNR and argmax agreement.
func accuracy(t *testing.T, o testoracle.Oracle, floatModel, quantModel string, from, to int) (float64, float64) {
	t.Helper()
	load := func(path string) *onnxpb.ModelProto {
		m, err := onnxio.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		return m.Proto
	}
	fm, qm := load(floatModel), load(quantModel)
	var acc metrics.Accumulator
	var ref, got []int
	for i := from; i < to; i++ {
		x, err := dataset.ReadNPY(repo("models", "tinynet_calib", fmt.Sprintf("sample_%03d.npy", i)))
		if err != nil {
			t.Fatal(err)
		}
		in := map[string]*tensor.Dense{"input": x}
		fo, err := o.Run(fm, in)
		if err != nil {
			t.Fatalf("%s: float model: %v", o.Name, err)
		}
		qo, err := o.Run(qm, in)
		if err != nil {
			t.Fatalf("%s cannot run the quantized model: %v", o.Name, err)
		}
		f, q := fo["logits"].Data().([]float32), qo["logits"].Data().([]float32)
		acc.Add(f, q)
		ref = append(ref, metrics.Argmax(f, 10)...)
		got = append(got, metrics.Argmax(q, 10)...)
	}
	return acc.SQNR(), metrics.Agreement(ref, got)
}

func TestQuantizeIsDeterministicAcrossRunsAndWorkers(t *testing.T) {
	dir := t.TempDir()
	var sums []string
	for i, jobs := range []string{"1", "2", "1"} {
		out := filepath.Join(dir, fmt.Sprintf("q%d.onnx", i))
		if r := onnxquant(t, "quantize", "models/tinynet.onnx", "--calib", "models/tinynet_calib", "-o", out, "-j", jobs, "--quiet"); r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		sums = append(sums, fmt.Sprintf("%x", sha256.Sum256(b)))
	}
	if sums[0] != sums[1] || sums[0] != sums[2] {
		t.Fatalf("outputs differ: %v", sums)
	}
}

func TestQuantizeKeepsInputAndOutputNamesAndOrder(t *testing.T) {
	out := filepath.Join(t.TempDir(), "q.onnx")
	if r := onnxquant(t, "quantize", "models/tinynet.onnx", "--calib", "models/tinynet_calib", "-o", out, "--quiet"); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	m, err := onnxio.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	gm, err := lower.Lower(m.Proto, m.Dir)
	if err != nil {
		t.Fatal(err)
	}
	var ins, outs []string
	for _, p := range gm.Graph.Placeholders() {
		ins = append(ins, p.Outputs[0].Name)
	}
	for _, v := range gm.Graph.OutputNode().Inputs {
		outs = append(outs, v.Name)
	}
	if strings.Join(ins, ",") != "input" || strings.Join(outs, ",") != "logits" {
		t.Fatalf("inputs %v outputs %v, want [input] [logits]", ins, outs)
	}
}
