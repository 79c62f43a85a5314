package tflite

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fixedGridModel is an int8 Sigmoid or Tanh on [1, 256] whose output the
// quantizer put on its own grid (not TFLite's fixed one).
func fixedGridModel(op string, inScale float32, inZP int64, outScale float32, outZP int64) *qdqBuilder {
	b := newQDQ()
	x := b.input("x", i8, inScale, inZP, 1, 256)
	b.node(op, "f", []string{x}, []string{"s"})
	b.output("s", "y", i8, outScale, outZP)
	return b
}

// TestFixedGridOpsRoundOnce: an int8 LOGISTIC or TANH onto the quantizer's
// grid is written at 16 bits (QUANTIZE to int16, the int16 operator,
// QUANTIZE to int8), and LiteRT then gives ONNX Runtime's value on every
// one of the 256 input levels except where the exact value lies within
// 1/100 of a step of a rounding tie. The 8-bit form (TFLite's fixed 1/256
// or 1/128 grid, then a QUANTIZE) rounds twice and fails this on 8-30% of
// the levels, by one step far from any tie.
func TestFixedGridOpsRoundOnce(t *testing.T) {
	cases := []struct {
		name, op string
		inScale  float32
		inZP     int64
		outScale float32
		outZP    int64
		f        func(float64) float64
		fixed    BuiltinOp
	}{
		{"sigmoid", "Sigmoid", 0.05, 0, 1.0 / 255, -128, func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }, OpLogistic},
		{"sigmoid_coarse_input", "Sigmoid", 0.5150488, -13, 1.0 / 255, -128, func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }, OpLogistic},
		{"tanh", "Tanh", 0.03, 7, 1.0 / 127, 0, math.Tanh, OpTanh},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := fixedGridModel(tc.op, tc.inScale, tc.inZP, tc.outScale, tc.outZP)
			m := mustExport(t, b, ExportOptions{})
			if got, want := ops(m), []BuiltinOp{OpQuantize, tc.fixed, OpQuantize}; !reflect.DeepEqual(got, want) {
				t.Errorf("ops %v, want %v", got, want)
			} else if x16 := m.Tensors[m.Operators[0].Outputs[0]]; x16.Type != Int16 || x16.Quant.Scale[0] != tc.inScale/128 || x16.Quant.ZeroPoint[0] != 0 {
				t.Errorf("int16 input %v %+v, want int16 at scale %g, zero point 0", x16.Type, x16.Quant, tc.inScale/128)
			} else if y16 := m.Tensors[m.Operators[1].Outputs[0]]; y16.Type != Int16 || y16.Quant.Scale[0] != 1.0/32768 || y16.Quant.ZeroPoint[0] != 0 {
				t.Errorf("int16 output %v %+v, want TFLite's fixed 1/32768, 0", y16.Type, y16.Quant)
			}
			if y := m.Tensors[m.Outputs[0]]; y.Type != Int8 || y.Quant.Scale[0] != tc.outScale || y.Quant.ZeroPoint[0] != tc.outZP {
				t.Errorf("output %v %+v, want the quantizer's int8 %g, %d", y.Type, y.Quant, tc.outScale, tc.outZP)
			}
			// Every int8 input level once.
			in := make([]float32, 256)
			for i := range in {
				in[i] = float32(int64(i-128)-tc.inZP) * tc.inScale
			}
			ort, lite := runLevels(t, b, in)
			for i := range in {
				exact := tc.f(float64(in[i]))/float64(tc.outScale) + float64(tc.outZP)
				got, want := math.Round(lite[i]/float64(tc.outScale)), math.Round(ort[i]/float64(tc.outScale))
				if got == want {
					continue
				}
				nearTie := math.Abs(exact-math.Floor(exact)-0.5) < 0.01
				if math.Abs(got-want) > 1 || !nearTie {
					t.Errorf("%s(%g): LiteRT %g, ONNX Runtime %g steps (exact %.4f)", tc.op, in[i], got, want, exact-float64(tc.outZP))
				}
			}
		})
	}
}

// runLevels runs model b on one [1, len(in)] sample in LiteRT (its float-I/O
// export) and in ONNX Runtime, and returns both outputs.
func runLevels(t *testing.T, b *qdqBuilder, in []float32) (ort, lite []float64) {
	t.Helper()
	nodeModules := repoPath(".ort", "node_modules")
	for _, p := range []string{"@litertjs/core", "onnxruntime-node"} {
		if _, err := os.Stat(filepath.Join(nodeModules, p)); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed in %s (scripts/install-ort.sh and install-litert.sh install it)", p, nodeModules)
			}
			t.Skipf("%s is not installed in %s", p, nodeModules)
		}
	}
	dir := t.TempDir()
	onnxPath := filepath.Join(dir, "q.onnx")
	if err := b.model().Save(onnxPath, onnxioSaveOptions()); err != nil {
		t.Fatal(err)
	}
	m, err := Export(b.model(), ExportOptions{Target: "ethos-u55-128", FloatIO: true})
	if err != nil {
		t.Fatal(err)
	}
	data, err := Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	tflPath := filepath.Join(dir, "f.tflite")
	if err := os.WriteFile(tflPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sample := filepath.Join(dir, "levels.npy")
	writeNpy(t, sample, []int64{1, int64(len(in))}, in)
	cmd := exec.Command("node", repoPath("scripts", "litert-compare.mjs"), nodeModules, tflPath, onnxPath, "--layouts", Layouts(m), sample)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("litert-compare: %v\n%s", err, stderr.String())
	}
	var res struct {
		Results []struct {
			Outputs map[string]struct {
				ORT    []float64 `json:"ort"`
				LiteRT []float64 `json:"litert"`
			} `json:"outputs"`
		} `json:"results"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	o := res.Results[0].Outputs["y"]
	if len(o.ORT) != len(in) || len(o.LiteRT) != len(in) {
		t.Fatalf("%d ONNX Runtime and %d LiteRT values for %d inputs", len(o.ORT), len(o.LiteRT), len(in))
	}
	return o.ORT, o.LiteRT
}

// TestFixedGridOpsOnNPU: Vela places the 16-bit form on the NPU of U55 and
// U85.
func TestFixedGridOpsOnNPU(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Vela")
	}
	vela := velaPath(t)
	for _, op := range []string{"Sigmoid", "Tanh"} {
		for _, target := range []string{"ethos-u55-128", "ethos-u85-256"} {
			t.Run(op+"_"+target, func(t *testing.T) {
				m := mustExport(t, fixedGridModel(op, 0.05, 0, 1.0/127, 0), ExportOptions{Target: target})
				data, err := Marshal(m)
				if err != nil {
					t.Fatal(err)
				}
				dir := t.TempDir()
				path := filepath.Join(dir, "m.tflite")
				if err := os.WriteFile(path, data, 0o644); err != nil {
					t.Fatal(err)
				}
				out, err := exec.Command(vela, path, "--accelerator-config", target, "--output-dir", dir).CombinedOutput()
				if err != nil {
					t.Fatalf("vela: %v\n%s", err, out)
				}
				if m := velaCPU.FindSubmatch(out); m == nil || string(m[1]) != "0" {
					t.Errorf("Vela left operators on the CPU:\n%s", out)
				}
			})
		}
	}
}
