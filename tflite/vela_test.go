package tflite

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

var velaCPU = regexp.MustCompile(`CPU operators = (\d+)`)

// velaPath finds Arm's Vela: $ONNXQUANT_VELA or ../shared/tools/vela/vela.
// Missing in CI is a failure.
func velaPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("ONNXQUANT_VELA")
	if p == "" {
		p = repoPath("..", "shared", "tools", "vela", "vela")
	}
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Vela not found at %s", p)
		}
		t.Skipf("Vela not found at %s", p)
	}
	return p
}

// TestVelaPlacesRewritesOnNPU compiles each mapping and rewrite of the
// exporter with Vela for U55 and U85 and requires no CPU operator.
func TestVelaPlacesRewritesOnNPU(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Vela")
	}
	vela := velaPath(t)
	models := map[string]func() *qdqBuilder{
		"conv_stride2_relu6": func() *qdqBuilder { b, _ := convModel(2, "Relu6"); return b },
		"conv_transpose":     convTransposeModel,
		"softmax_pattern":    softmaxModel,
		"flatten_fc":         flattenFCModel,
		"transpose_matmul":   transposeMatMulModel,
		"split":              splitModel,
		"resize_nearest":     func() *qdqBuilder { return resizeModel("nearest", "asymmetric") },
		"hardsigmoid_int16_wide": func() *qdqBuilder {
			b := newQDQ()
			x := b.input("x", onnxpb.TensorProto_INT16, 1.0/4096, 0, 1, 4, 3, 3)
			b.node("GlobalAveragePool", "gap", []string{x}, []string{"g"})
			g := b.qdq("g", onnxpb.TensorProto_INT16, 1.0/4096, 0)
			b.node("HardSigmoid", "hsig", []string{g}, []string{"h"}, attrF("alpha", 1.0/6), attrF("beta", 0.5))
			b.output("h", "y", onnxpb.TensorProto_INT16, 1.0/4096, 0)
			return b
		},
		"hardsigmoid": func() *qdqBuilder {
			b := newQDQ()
			x := b.input("x", i8, 0.05, 0, 1, 4, 3, 3)
			b.node("GlobalAveragePool", "gap", []string{x}, []string{"g"})
			g := b.qdq("g", i8, 0.04, 0)
			b.node("HardSigmoid", "hsig", []string{g}, []string{"h"}, attrF("alpha", 1.0/6), attrF("beta", 0.5))
			b.output("h", "y", i8, 1.0/255, -128)
			return b
		},
	}
	for name, build := range models {
		for _, target := range []string{"ethos-u55-128", "ethos-u85-256"} {
			t.Run(name+"_"+target, func(t *testing.T) {
				m, err := Export(build().model(), ExportOptions{Target: target})
				if err != nil {
					t.Fatal(err)
				}
				if err := Check(m, target); err != nil {
					t.Fatal(err)
				}
				data, err := Marshal(m)
				if err != nil {
					t.Fatal(err)
				}
				dir := t.TempDir()
				path := filepath.Join(dir, name+".tflite")
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
