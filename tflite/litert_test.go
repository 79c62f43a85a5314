package tflite

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// repoPath returns a path inside the repository.
func repoPath(parts ...string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(append([]string{filepath.Dir(filepath.Dir(file))}, parts...)...)
}

func writeNpy(t *testing.T, path string, shape []int64, data []float32) {
	t.Helper()
	dims := make([]int, len(shape))
	for i, d := range shape {
		dims[i] = int(d)
	}
	if err := dataset.WriteNPY(path, tensor.New(tensor.WithShape(dims...), tensor.WithBacking(data))); err != nil {
		t.Fatal(err)
	}
}

// runAgainstORT exports b (float I/O), runs it in LiteRT and the QDQ model
// in ONNX Runtime on random inputs, and requires 99% of the output elements
// to be within the given number of output steps.
func runAgainstORT(t *testing.T, b *qdqBuilder, inShape []int64, lo, hi float32, steps float64) {
	t.Helper()
	runAgainstORTFor(t, "ethos-u55-128", b, inShape, lo, hi, steps)
}

// runAgainstORTFor is runAgainstORT with the model exported for target
// (some rewrites differ between U55/U65 and U85).
func runAgainstORTFor(t *testing.T, target string, b *qdqBuilder, inShape []int64, lo, hi float32, steps float64) {
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
	m, err := Export(b.model(), ExportOptions{Target: target, FloatIO: true})
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
	intModel, err := Export(b.model(), ExportOptions{Target: target})
	if err != nil {
		t.Fatal(err)
	}
	step := float64(intModel.Tensors[intModel.Outputs[0]].Quant.Scale[0])
	rng := rand.New(rand.NewSource(1))
	n := 1
	for _, d := range inShape {
		n *= int(d)
	}
	args := []string{repoPath("scripts", "litert-compare.mjs"), nodeModules, tflPath, onnxPath, "--layouts", Layouts(m)}
	for s := 0; s < 3; s++ {
		v := make([]float32, n)
		for i := range v {
			v[i] = lo + (hi-lo)*rng.Float32()
		}
		p := filepath.Join(dir, fmt.Sprintf("s%d.npy", s))
		writeNpy(t, p, inShape, v)
		args = append(args, p)
	}
	cmd := exec.Command("node", args...)
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
	for _, r := range res.Results {
		for name, o := range r.Outputs {
			if len(o.ORT) != len(o.LiteRT) {
				t.Fatalf("%s: %d vs %d values", name, len(o.ORT), len(o.LiteRT))
			}
			bad, worst := 0, 0.0
			for i := range o.ORT {
				d := math.Abs(o.ORT[i] - o.LiteRT[i])
				worst = math.Max(worst, d/step)
				if d > steps*step*1.0001 {
					bad++
				}
			}
			t.Logf("%s: %d of %d elements beyond %g step(s); largest difference %.3g steps", name, bad, len(o.ORT), steps, worst)
			if float64(bad) > 0.01*float64(len(o.ORT)) {
				t.Errorf("%s: %d of %d elements differ by more than %g step(s) of %g", name, bad, len(o.ORT), steps, step)
			}
		}
	}
}

// The rewrites and mappings, each checked against ONNX Runtime.
func TestLiteRTAgreesWithORT(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Node")
	}
	cases := map[string]struct {
		build func() *qdqBuilder
		shape []int64
		// steps is the tolerance in output steps: 1, except where TFLite
		// computes in one operator what the QDQ graph rounds at every
		// stage (the decomposed softmax quantizes Exp, the sum and its
		// reciprocal to 8 bits each).
		steps float64
	}{
		"conv_stride2_relu6": {func() *qdqBuilder { b, _ := convModel(2, "Relu6"); return b }, []int64{1, 3, 8, 8}, 1},
		"conv_relu":          {func() *qdqBuilder { b, _ := convModel(1, "Relu"); return b }, []int64{1, 3, 8, 8}, 1},
		"hardsigmoid": {func() *qdqBuilder {
			b := newQDQ()
			x := b.input("x", i8, 0.05, 0, 1, 4, 3, 3)
			b.node("HardSigmoid", "hsig", []string{x}, []string{"h"}, attrF("alpha", 1.0/6), attrF("beta", 0.5))
			b.output("h", "y", i8, 1.0/255, -128)
			b.g.Node = append([]*onnxpb.NodeProto{}, b.g.Node...)
			return withPoolFirst(b)
		}, []int64{1, 4, 3, 3}, 1},
		"hardsigmoid_int16_wide": {func() *qdqBuilder {
			b := newQDQ()
			x := b.input("x", onnxpb.TensorProto_INT16, 1.0/4096, 0, 1, 4, 3, 3)
			b.node("HardSigmoid", "hsig", []string{x}, []string{"h"}, attrF("alpha", 1.0/6), attrF("beta", 0.5))
			b.output("h", "y", onnxpb.TensorProto_INT16, 1.0/4096, 0)
			b.opset = 21
			return withPoolFirst16(b)
		}, []int64{1, 4, 3, 3}, 1},
		"clip_min_max": {func() *qdqBuilder {
			b := newQDQ()
			x := b.input("x", i8, 0.05, 0, 1, 64)
			b.init("lo", onnxpb.TensorProto_FLOAT, nil, f32raw(-0.5))
			b.init("hi", onnxpb.TensorProto_FLOAT, nil, f32raw(2))
			b.node("Clip", "clip", []string{x, "lo", "hi"}, []string{"c"})
			b.output("c", "y", i8, 0.03, -20)
			return b
		}, []int64{1, 64}, 1},
		"maxpool_padded": {func() *qdqBuilder {
			b := newQDQ()
			x := b.input("x", i8, 0.05, 0, 1, 2, 8, 8)
			b.node("MaxPool", "pool", []string{x}, []string{"p"}, attrIs("kernel_shape", 3, 3), attrIs("strides", 2, 2), attrIs("pads", 1, 1, 1, 1))
			b.output("p", "y", i8, 0.05, 0)
			return b
		}, []int64{1, 2, 8, 8}, 1},
		"sigmoid_requantized": {func() *qdqBuilder {
			b := newQDQ()
			x := b.input("x", i8, 0.05, 0, 1, 64)
			b.node("Sigmoid", "sig", []string{x}, []string{"s"})
			b.output("s", "y", i8, 1.0/255, -128)
			return b
		}, []int64{1, 64}, 1},
		"softmax_pattern":  {softmaxModel, []int64{1, 10}, 4},
		"transpose_matmul": {transposeMatMulModel, []int64{1, 4, 6}, 1},
		"split":            {splitModel, []int64{1, 6, 4, 4}, 1},
		"resize_nearest":   {func() *qdqBuilder { return resizeModel("nearest", "asymmetric") }, []int64{1, 2, 4, 4}, 1},
		"resize_bilinear":  {func() *qdqBuilder { return resizeModel("linear", "half_pixel") }, []int64{1, 2, 4, 4}, 1},
		"flatten_fc":       {flattenFCModel, []int64{1, 2, 2, 2}, 1},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			runAgainstORT(t, tc.build(), tc.shape, -3, 3, tc.steps)
		})
	}
}

// withPoolFirst puts a 1×1 MaxPool in front of the first operator so that
// the input is NHWC (HardSigmoid's rewrite is a depthwise convolution).
func withPoolFirst(b *qdqBuilder) *qdqBuilder {
	for _, n := range b.g.Node {
		if n.GetOpType() == "HardSigmoid" {
			src := n.Input[0]
			b.node("MaxPool", "pool", []string{src}, []string{"pooled"}, attrIs("kernel_shape", 1, 1))
			n.Input[0] = b.qdq("pooled", i8, 0.05, 0)
			// Keep topological order: move the HardSigmoid to the end.
			var rest []*onnxpb.NodeProto
			var moved []*onnxpb.NodeProto
			for _, m := range b.g.Node {
				if m == n || strings.HasPrefix(m.GetName(), "y_") {
					moved = append(moved, m)
				} else {
					rest = append(rest, m)
				}
			}
			b.g.Node = append(rest, moved...)
		}
	}
	return b
}

// withPoolFirst16 is withPoolFirst for int16 activations.
func withPoolFirst16(b *qdqBuilder) *qdqBuilder {
	for _, n := range b.g.Node {
		if n.GetOpType() == "HardSigmoid" {
			src := n.Input[0]
			b.node("MaxPool", "pool", []string{src}, []string{"pooled"}, attrIs("kernel_shape", 1, 1))
			n.Input[0] = b.qdq("pooled", onnxpb.TensorProto_INT16, 1.0/4096, 0)
			var rest, moved []*onnxpb.NodeProto
			for _, m := range b.g.Node {
				if m == n || strings.HasPrefix(m.GetName(), "y_") {
					moved = append(moved, m)
				} else {
					rest = append(rest, m)
				}
			}
			b.g.Node = append(rest, moved...)
		}
	}
	return b
}

// resizeModel upsamples x [1,2,4,4] twice (after a 1×1 MaxPool, so that
// the input is NHWC).
func resizeModel(mode, ctm string) *qdqBuilder {
	b := newQDQ()
	x := b.input("x", i8, 0.05, 0, 1, 2, 4, 4)
	b.node("MaxPool", "pool", []string{x}, []string{"p"}, attrIs("kernel_shape", 1, 1))
	p := b.qdq("p", i8, 0.05, 0)
	b.init("roi", onnxpb.TensorProto_FLOAT, []int64{0}, nil)
	b.init("scales", onnxpb.TensorProto_FLOAT, []int64{4}, f32raw(1, 1, 2, 2))
	attrs := []*onnxpb.AttributeProto{
		{Name: proto.String("mode"), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte(mode)},
		{Name: proto.String("coordinate_transformation_mode"), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte(ctm)},
	}
	if mode == "nearest" {
		attrs = append(attrs, &onnxpb.AttributeProto{Name: proto.String("nearest_mode"), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte("floor")})
	}
	b.node("Resize", "up", []string{p, "roi", "scales"}, []string{"u"}, attrs...)
	b.output("u", "y", i8, 0.05, 0)
	return b
}

// transposeMatMulModel is x [1,4,6] · xᵀ: a TRANSPOSE that is not a layout
// change and an activation × activation BATCH_MATMUL.
func transposeMatMulModel() *qdqBuilder {
	b := newQDQ()
	x := b.input("x", i8, 0.05, 0, 1, 4, 6)
	b.node("Transpose", "t", []string{x}, []string{"xt"}, attrIs("perm", 0, 2, 1))
	xt := b.qdq("xt", i8, 0.05, 0)
	b.node("MatMul", "mm", []string{x, xt}, []string{"m"})
	b.output("m", "y", i8, 0.2, 0)
	return b
}

// splitModel splits channels 2+4 after a 1×1 MaxPool (NHWC) and adds the
// parts' first channels back: a SPLIT_V on the channel axis, one output
// requantized.
func splitModel() *qdqBuilder {
	b := newQDQ()
	x := b.input("x", i8, 0.05, 0, 1, 6, 4, 4)
	b.node("MaxPool", "pool", []string{x}, []string{"p"}, attrIs("kernel_shape", 1, 1))
	p := b.qdq("p", i8, 0.05, 0)
	b.init("sizes", onnxpb.TensorProto_INT64, []int64{2}, intRaw(onnxpb.TensorProto_INT64, 2, 4))
	b.node("Split", "split", []string{p, "sizes"}, []string{"a", "b"}, attrI("axis", 1))
	a := b.qdq("a", i8, 0.05, 0)
	bb := b.qdq("b", i8, 0.1, 3)
	b.node("Concat", "cat", []string{bb, a}, []string{"c"}, attrI("axis", 1))
	b.output("c", "y", i8, 0.1, 0)
	return b
}

func softmaxModel() *qdqBuilder {
	b := newQDQ()
	x := b.input("x", i8, 0.05, 0, 1, 10)
	b.node("ReduceMax", "max", []string{x}, []string{"m"}, attrIs("axes", -1))
	m := b.qdq("m", i8, 0.05, 0)
	b.node("Sub", "sub", []string{x, m}, []string{"d"})
	d := b.qdq("d", i8, 0.05, 127)
	b.node("Exp", "exp", []string{d}, []string{"e"})
	e := b.qdq("e", i8, 1.0/255, -128)
	b.init("axes", onnxpb.TensorProto_INT64, []int64{1}, intRaw(onnxpb.TensorProto_INT64, -1))
	b.node("ReduceSum", "sum", []string{e, "axes"}, []string{"s"})
	s := b.qdq("s", i8, 0.04, -128)
	b.node("Reciprocal", "rec", []string{s}, []string{"r"})
	r := b.qdq("r", i8, 1.0/255, -128)
	b.node("Mul", "mul", []string{e, r}, []string{"p"})
	b.output("p", "y", i8, 1.0/256, -128)
	return b
}

func flattenFCModel() *qdqBuilder {
	b := newQDQ()
	x := b.input("x", i8, 0.05, 0, 1, 2, 2, 2)
	b.node("MaxPool", "pool", []string{x}, []string{"p"}, attrIs("kernel_shape", 1, 1))
	p := b.qdq("p", i8, 0.05, 0)
	b.node("Flatten", "flat", []string{p}, []string{"f"})
	f := b.qdq("f", i8, 0.05, 0)
	wv := seq(3*8, func(i int) int64 { return int64(i*7%23) - 11 })
	w := b.weight("w", i8, []int64{3, 8}, wv, []float32{0.1, 0.05, 0.2}, 0)
	b.node("Gemm", "fc", []string{f, w}, []string{"g"}, attrI("transB", 1))
	b.output("g", "y", i8, 0.1, 0)
	return b
}

func convTransposeModel() *qdqBuilder {
	b := newQDQ()
	x := b.input("x", i8, 0.05, 0, 1, 3, 4, 4)
	wv := seq(3*2*4*4, func(i int) int64 { return int64(i*5%31) - 15 })
	w := b.weight("w", i8, []int64{3, 2, 4, 4}, wv, []float32{0.01, 0.02}, 1)
	bias := b.weight("b", onnxpb.TensorProto_INT32, []int64{2}, []int64{300, -200}, []float32{0.05 * 0.01, 0.05 * 0.02}, 0)
	b.node("ConvTranspose", "up", []string{x, w, bias}, []string{"u"}, attrIs("kernel_shape", 4, 4), attrIs("strides", 2, 2), attrIs("pads", 1, 1, 1, 1))
	b.output("u", "y", i8, 0.05, 0)
	return b
}

func TestExportConvTranspose(t *testing.T) {
	m := mustExport(t, convTransposeModel(), ExportOptions{})
	op := m.Operators[0]
	if op.Op != OpTransposeConv || op.Options.Int(slotConvPadding) != int64(PaddingSame) {
		t.Fatalf("%v padding %d, want TRANSPOSE_CONV SAME", op.Op, op.Options.Int(slotConvPadding))
	}
	if s := decodeInts(m.Tensors[op.Inputs[0]]); !reflect.DeepEqual(s, []int64{1, 8, 8, 2}) {
		t.Errorf("output_shape %v", s)
	}
	w := m.Tensors[op.Inputs[1]]
	if !reflect.DeepEqual(w.Shape, []int32{2, 4, 4, 3}) || w.Quant.Axis != 0 || len(w.Quant.Scale) != 2 {
		t.Errorf("weights %v axis %d scales %v", w.Shape, w.Quant.Axis, w.Quant.Scale)
	}
	if err := Check(m, "ethos-u55-128"); err != nil {
		t.Error(err)
	}
	if testing.Short() {
		return
	}
	runAgainstORT(t, convTransposeModel(), []int64{1, 3, 4, 4}, -3, 3, 1)
}
