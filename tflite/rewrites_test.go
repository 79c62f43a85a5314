package tflite

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

const i16 = onnxpb.TensorProto_INT16

// erfModel is Erf on x in [-3.2, 3.2] into [-1, 1], as the quantizer
// writes the erf form of GELU.
func erfModel() *qdqBuilder {
	b := newQDQ()
	x := b.input("x", i8, 0.025, 0, 1, 4, 64)
	b.node("Erf", "erf", []string{x}, []string{"e"})
	b.output("e", "y", i8, 1.0/127, 0)
	return b
}

// geluModel is one Gelu (opset 20), int8 or int16 activations.
func geluModel(dt onnxpb.TensorProto_DataType, approximate string) *qdqBuilder {
	b := newQDQ()
	b.opset = 20
	var x string
	var attrs []*onnxpb.AttributeProto
	if approximate != "" {
		attrs = append(attrs, &onnxpb.AttributeProto{Name: proto.String("approximate"), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte(approximate)})
	}
	if dt == i16 {
		b.opset = 21
		x = b.input("x", i16, 4.0/32767, 0, 1, 4, 64)
		b.node("Gelu", "gelu", []string{x}, []string{"g"}, attrs...)
		b.output("g", "y", i16, 4.0/32767, 0)
		return b
	}
	x = b.input("x", i8, 0.025, 0, 1, 4, 64)
	b.node("Gelu", "gelu", []string{x}, []string{"g"}, attrs...)
	b.output("g", "y", i8, 3.4/255, -115)
	return b
}

// conv1DModel is a 1-D Conv (kernel 5, stride 2, pads 2) over [1, C, 24]
// with per-channel weights and a Relu, as audio front ends write it.
func conv1DModel(cin int64) *qdqBuilder {
	b := newQDQ()
	x := b.input("x", i8, 0.05, -3, 1, cin, 24)
	wv := seq(int(3*cin*5), func(i int) int64 { return int64(i*7%25) - 12 })
	w := b.weight("w", i8, []int64{3, cin, 5}, wv, []float32{0.01, 0.02, 0.015}, 0)
	bias := b.weight("b", onnxpb.TensorProto_INT32, []int64{3}, []int64{100, -50, 7}, []float32{0.05 * 0.01, 0.05 * 0.02, 0.05 * 0.015}, 0)
	b.node("Conv", "conv", []string{x, w, bias}, []string{"c"}, attrIs("kernel_shape", 5), attrIs("strides", 2), attrIs("pads", 2, 2))
	b.node("Relu", "relu", []string{"c"}, []string{"r"})
	b.output("r", "y", i8, 0.05, -128)
	return b
}

// groupedConvModel is a Conv with 2 groups of 2 input channels, 3 output
// channels each, per-channel weights.
func groupedConvModel() *qdqBuilder {
	b := newQDQ()
	x := b.input("x", i8, 0.05, 2, 1, 4, 6, 6)
	wv := seq(6*2*3*3, func(i int) int64 { return int64(i*11%29) - 14 })
	scales := []float32{0.01, 0.02, 0.015, 0.012, 0.018, 0.011}
	w := b.weight("w", i8, []int64{6, 2, 3, 3}, wv, scales, 0)
	bs := make([]float32, 6)
	for i, s := range scales {
		bs[i] = 0.05 * s
	}
	bias := b.weight("b", onnxpb.TensorProto_INT32, []int64{6}, []int64{100, -50, 7, 0, 30, -9}, bs, 0)
	b.node("Conv", "conv", []string{x, w, bias}, []string{"c"}, attrIs("kernel_shape", 3, 3), attrIs("pads", 1, 1, 1, 1), attrI("group", 2))
	b.output("c", "y", i8, 0.08, 3)
	return b
}

// depthToSpaceModel rearranges [1, 8, 3, 3] by blocks of 2 (after a 1×1
// MaxPool, so that the input is NHWC); SpaceToDepth goes the other way.
func depthToSpaceModel(op, mode string) *qdqBuilder {
	b := newQDQ()
	shape := []int64{1, 8, 3, 3}
	if op == "SpaceToDepth" {
		shape = []int64{1, 2, 6, 4}
	}
	x := b.input("x", i8, 0.05, 0, shape...)
	b.node("MaxPool", "pool", []string{x}, []string{"p"}, attrIs("kernel_shape", 1, 1))
	p := b.qdq("p", i8, 0.05, 0)
	attrs := []*onnxpb.AttributeProto{attrI("blocksize", 2)}
	if mode != "" {
		attrs = append(attrs, &onnxpb.AttributeProto{Name: proto.String("mode"), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte(mode)})
	}
	b.node(op, "d2s", []string{p}, []string{"d"}, attrs...)
	b.output("d", "y", i8, 0.05, 0)
	return b
}

// topDBModel is the log-mel floor: y = max(log(x), max(log(x)) - 2),
// a Clip whose lower bound the graph computes, and LOG.
func topDBModel() *qdqBuilder {
	b := newQDQ()
	x := b.input("x", i8, 0.02, -128, 1, 64)
	b.node("Log", "log", []string{x}, []string{"l"})
	l := b.qdq("l", i8, 0.04, 0)
	b.node("ReduceMax", "max", []string{l}, []string{"m"}, attrI("keepdims", 0))
	m := b.qdq("m", i8, 0.04, 0)
	b.init("two_q", i8, nil, intRaw(i8, 50))
	b.init("two_scale", onnxpb.TensorProto_FLOAT, nil, f32raw(0.04))
	b.init("two_zp", i8, nil, intRaw(i8, 0))
	b.node("DequantizeLinear", "two_DQ", []string{"two_q", "two_scale", "two_zp"}, []string{"two"})
	b.node("Sub", "sub", []string{m, "two"}, []string{"floor"})
	f := b.qdq("floor", i8, 0.04, 0)
	b.node("Cast", "cast", []string{f}, []string{"fc"}, attrI("to", int64(onnxpb.TensorProto_FLOAT)))
	fc := b.qdq("fc", i8, 0.04, 0)
	b.node("Clip", "clip", []string{l, fc}, []string{"c"})
	b.output("c", "y", i8, 0.03, 10)
	return b
}

// rewriteCases are the rewrites of operators without a TFLite builtin Vela
// runs, each with the input range it is run on in LiteRT and the tolerance
// in output steps on 99% of the elements.
var rewriteCases = map[string]struct {
	build  func() *qdqBuilder
	shape  []int64
	lo, hi float32
	steps  float64
	// targets the case is exported for, in LiteRT and through Vela, when
	// the rewrite differs between them (default: LiteRT on the U55 export,
	// Vela for ethos-u55-128 and ethos-u85-256).
	targets []string
}{
	// Erf and GELU are approximated (see ops_gelu.go) and rounded at four
	// intermediate grids. Erf alone: 2 int8 steps (the cubic's grid, ±3.12
	// in 255 steps, adds up to 0.012 where tanh is steepest, TANH's output
	// and the QUANTIZE after it 1/256 each; measured 3% of elements at 2
	// steps); GELU 1 int8 step, 4 int16 steps (of 1.2e-4).
	"erf":                {erfModel, []int64{1, 4, 64}, -3.5, 3.5, 2, nil},
	"gelu_int8":          {func() *qdqBuilder { return geluModel(i8, "") }, []int64{1, 4, 64}, -3.5, 3.5, 1, nil},
	"gelu_int8_tanh":     {func() *qdqBuilder { return geluModel(i8, "tanh") }, []int64{1, 4, 64}, -3.5, 3.5, 1, nil},
	"gelu_int16":         {func() *qdqBuilder { return geluModel(i16, "") }, []int64{1, 4, 64}, -4, 4, 4, nil},
	"conv1d":             {func() *qdqBuilder { return conv1DModel(2) }, []int64{1, 2, 24}, -3, 3, 1, nil},
	"conv1d_one_channel": {func() *qdqBuilder { return conv1DModel(1) }, []int64{1, 1, 24}, -3, 3, 1, nil},
	"grouped_conv":       {groupedConvModel, []int64{1, 4, 6, 6}, -3, 3, 1, nil},
	"depth_to_space_dcr": {func() *qdqBuilder { return depthToSpaceModel("DepthToSpace", "DCR") }, []int64{1, 8, 3, 3}, -3, 3, 0, nil},
	"depth_to_space_crd": {func() *qdqBuilder { return depthToSpaceModel("DepthToSpace", "CRD") }, []int64{1, 8, 3, 3}, -3, 3, 0, nil},
	"space_to_depth":     {func() *qdqBuilder { return depthToSpaceModel("SpaceToDepth", "") }, []int64{1, 2, 6, 4}, -3, 3, 0, nil},
	"log_top_db_clip":    {topDBModel, []int64{1, 64}, 0.01, 5, 1, nil},
	"sqrt":               {sqrtModel, []int64{1, 64}, 0, 6, 1, nil},
	// Reciprocal: on U55/U65 RSQRT(x)² at 16 bits (int8 input; TFLite's
	// int16 RSQRT table is off by up to 1% next to the smallest inputs:
	// 2 steps), on U85 MAXIMUM and DIV (1 int8 step, exact at int16 here);
	// x from 0 (1/x saturates) over the grid.
	"reciprocal_int8":     {func() *qdqBuilder { return reciprocalModel(i8) }, []int64{1, 256}, 0, 5.1, 2, []string{"ethos-u55-128"}},
	"reciprocal_int16":    {func() *qdqBuilder { return reciprocalModel(i16) }, []int64{1, 256}, 0, 4, 1, []string{"ethos-u85-256"}},
	"reciprocal_int8_u85": {func() *qdqBuilder { return reciprocalModel(i8) }, []int64{1, 256}, 0, 5.1, 1, []string{"ethos-u85-256"}},
	// int16 HardSwish: the hard sigmoid on its own int16 grid, then MUL:
	// up to half a step of 1/32767 times |x| ≤ 4, plus the output rounding.
	"hardswish_int16":    {hardSwish16Model, []int64{1, 4, 8, 8}, -4, 4, 2, nil},
	"hardswish_int16_fc": {hardSwish16FlatModel, []int64{1, 64}, -4, 4, 2, nil},
	"hardsigmoid_2d":     {hardSigmoidFlatModel, []int64{1, 64}, -4, 4, 1, nil},
	"focus_slices_conv":  {focusModel, []int64{1, 2, 8, 8}, -3, 3, 1, nil},
	"slice_backwards":    {sliceBackwardsModel, []int64{1, 2, 10}, -3, 3, 0, nil},
	"neg":                {negModel, []int64{1, 16}, -6.6, 6.3, 0, nil},
	// int16 Log over five tables, each in the top eighth of its input grid
	// (ops_table16.go): x from 0 (the output's minimum, as ONNX's -∞
	// saturates) through every factor of 8 of the grid (4/32767 to 4).
	"log_int16_tiny":  {func() *qdqBuilder { return log16Model(12) }, []int64{1, 256}, 0, 0.0005, 3, nil},
	"log_int16_small": {func() *qdqBuilder { return log16Model(12) }, []int64{1, 256}, 0.0005, 0.06, 3, nil},
	"log_int16_large": {func() *qdqBuilder { return log16Model(12) }, []int64{1, 256}, 0.06, 4, 3, nil},
	// An output grid narrower than the partial sums (log 4 − 5·ln 8 = −9):
	// the sums go on their own grid, then a QUANTIZE.
	"log_int16_narrow": {func() *qdqBuilder { return log16Model(6) }, []int64{1, 256}, 0, 4, 3, nil},
	// int16 Sqrt as √T·Π√u_k over the same five levels (ops_table16.go).
	"sqrt_int16_tiny":  {func() *qdqBuilder { return sqrt16Model(i16) }, []int64{1, 256}, 0, 0.0005, 3, nil},
	"sqrt_int16_small": {func() *qdqBuilder { return sqrt16Model(i16) }, []int64{1, 256}, 0.0005, 0.06, 3, nil},
	"sqrt_int16_large": {func() *qdqBuilder { return sqrt16Model(i16) }, []int64{1, 256}, 0.06, 4, 3, nil},
	"sqrt_int16_to_8":  {func() *qdqBuilder { return sqrt16Model(i8) }, []int64{1, 256}, 0, 4, 1, nil},
	// A layer norm's 1/√variance with an int16 variance and the Sqrt and
	// Reciprocal at int8 (Ethos-U85's choose-int16-forms can keep them
	// there): no single RSQRT (its input and output types must match), the
	// two ops as the QDQ model rounds them. From x = 0.5 the Reciprocal's
	// slope keeps one Sqrt step (2/255) under one output step.
	"rsqrt_int16_to_8": {rsqrtMixedModel, []int64{1, 256}, 0.5, 4, 1, []string{"ethos-u55-128", "ethos-u85-256"}},
	// Neg into its own grid (a mean's negation calibrated apart): MUL by
	// -1 requantizes, one rounding against ONNX Runtime's.
	"neg_rescaled":       {func() *qdqBuilder { return negModelTo(i8, 0.03, 10) }, []int64{1, 16}, -6.6, 6.3, 1, nil},
	"neg_rescaled_int16": {func() *qdqBuilder { return negModelTo(i16, 3.0/32767, 0) }, []int64{1, 16}, -4, 4, 1, nil},
	"pad_reflect":        {reflectPadModel, []int64{1, 1, 16}, -3, 3, 0, nil},
	// Not a rewrite: a detection head's reshapes, Concat, Add, Slice and
	// Transpose carried in channels-last form.
	"yolox_head":     {func() *qdqBuilder { return yoloxHeadModel(true) }, []int64{1, 4, 8, 8}, -3, 3, 1, nil},
	"yolox_head_nlc": {func() *qdqBuilder { return yoloxHeadModel(false) }, []int64{1, 4, 8, 8}, -3, 3, 1, nil},
	"spatial_split":  {spatialSplitModel, []int64{1, 4, 8, 8}, -3, 3, 1, nil},
	// Not a rewrite: int16 ADD of a broadcast constant, which LiteRT
	// aborts on unless pot_scale_int16 is false (as TFLite's converter
	// writes 16x8 models).
	"add_int16_broadcast": {addInt16BroadcastModel, []int64{1, 16, 64}, -3, 3, 1, nil},
}

func TestRewritesAgreeWithORT(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Node")
	}
	for name, tc := range rewriteCases {
		targets := tc.targets
		if targets == nil {
			targets = []string{"ethos-u55-128"}
		}
		for _, target := range targets {
			t.Run(name+"_"+target, func(t *testing.T) {
				runAgainstORTFor(t, target, tc.build(), tc.shape, tc.lo, tc.hi, tc.steps)
			})
		}
	}
}

// TestRewritesRunOnNPU compiles every rewrite with Vela for U55 and U85 and
// requires no CPU operator.
func TestRewritesRunOnNPU(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Vela")
	}
	vela := velaPath(t)
	for name, tc := range rewriteCases {
		targets := tc.targets
		if targets == nil {
			targets = []string{"ethos-u55-128", "ethos-u85-256"}
		}
		for _, target := range targets {
			t.Run(name+"_"+target, func(t *testing.T) {
				m, err := Export(tc.build().model(), ExportOptions{Target: target})
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

// The rewrites' structure: what each becomes, and the grids the cubic's
// intermediates get.
func TestRewriteStructure(t *testing.T) {
	cases := []struct {
		name  string
		build func() *qdqBuilder
		want  []BuiltinOp
	}{
		{"erf", erfModel, []BuiltinOp{OpMul, OpMul, OpAdd, OpMul, OpTanh, OpQuantize}},
		{"gelu", func() *qdqBuilder { return geluModel(i8, "") }, []BuiltinOp{OpMul, OpMul, OpAdd, OpMul, OpLogistic, OpMul}},
		{"conv1d", func() *qdqBuilder { return conv1DModel(2) }, []BuiltinOp{OpTranspose, OpReshape, OpPad, OpConv2D, OpReshape, OpTranspose}},
		{"conv1d_one_channel", func() *qdqBuilder { return conv1DModel(1) }, []BuiltinOp{OpReshape, OpPad, OpConv2D, OpReshape, OpTranspose}},
		{"grouped_conv", groupedConvModel, []BuiltinOp{OpSplit, OpConv2D, OpConv2D, OpConcatenation}},
		{"depth_to_space", func() *qdqBuilder { return depthToSpaceModel("DepthToSpace", "DCR") }, []BuiltinOp{OpMaxPool2D, OpReshape, OpTranspose, OpReshape}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := mustExport(t, tc.build(), ExportOptions{})
			if got := ops(m); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ops %v, want %v", got, tc.want)
			}
		})
	}
	// Erf's cubic saturates TANH at z = atanh(1 - 1/256) = 3.118: the
	// cubic's own grid is int8 symmetric over ±3.118.
	m := mustExport(t, erfModel(), ExportOptions{})
	z := m.Tensors[m.Operators[3].Outputs[0]]
	if got, want := z.Quant.Scale[0], float32(3.1183/127); abs32(got-want) > 1e-4*want || z.Quant.ZeroPoint[0] != 0 {
		t.Errorf("cubic grid %v zp %v, want scale %g zp 0", z.Quant.Scale, z.Quant.ZeroPoint, want)
	}
	// The grouped convolution's groups take their halves of the
	// per-channel scales.
	m = mustExport(t, groupedConvModel(), ExportOptions{})
	w := m.Tensors[m.Operators[2].Inputs[1]]
	if !reflect.DeepEqual(w.Quant.Scale, []float32{0.012, 0.018, 0.011}) || !reflect.DeepEqual(w.Shape, []int32{3, 3, 3, 2}) {
		t.Errorf("second group's weights %v scales %v", w.Shape, w.Quant.Scale)
	}
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

// reciprocalModel is a lone Reciprocal of x in [0, 5.1] into [0, 20]
// (int8), or of x in [-4, 4] into [-20, 20] (int16, symmetric grids).
func reciprocalModel(dt onnxpb.TensorProto_DataType) *qdqBuilder {
	b := newQDQ()
	if dt == i16 {
		b.opset = 21
		x := b.input("x", i16, 4.0/32767, 0, 1, 256)
		b.node("Reciprocal", "rec", []string{x}, []string{"r"})
		b.output("r", "y", i16, 20.0/32767, 0)
		return b
	}
	x := b.input("x", i8, 0.02, -128, 1, 256)
	b.node("Reciprocal", "rec", []string{x}, []string{"r"})
	b.output("r", "y", i8, 20.0/255, -128)
	return b
}

// A lone Reciprocal is 1/x = RSQRT(x)² at 16 bits on U55/U65 (the int8
// input lands exactly on its int16 grid, scale 0.02/128; r's grid reaches
// √ymax) and DIV(1, MAXIMUM(x, one step)) on U85; an int16 one is refused
// on U55/U65, naming the node and what serves.
func TestReciprocalStructure(t *testing.T) {
	m := mustExport(t, reciprocalModel(i8), ExportOptions{Target: "ethos-u55-128"})
	if got, want := ops(m), []BuiltinOp{OpQuantize, OpRsqrt, OpMul, OpQuantize}; !reflect.DeepEqual(got, want) {
		t.Fatalf("ops %v, want %v", got, want)
	}
	x16 := m.Tensors[m.Operators[0].Outputs[0]]
	if x16.Type != Int16 || x16.Quant.Scale[0] != float32(0.02/128) {
		t.Errorf("x16 %s scale %v, want INT16 at %g", x16.Type, x16.Quant.Scale, 0.02/128)
	}
	r := m.Tensors[m.Operators[1].Outputs[0]]
	if got, want := r.Quant.Scale[0], float32(math.Sqrt(20)/32767); abs32(got-want) > 1e-6*want {
		t.Errorf("rsqrt grid %v, want %g", r.Quant.Scale, want)
	}
	for _, dt := range []onnxpb.TensorProto_DataType{i8, i16} {
		m = mustExport(t, reciprocalModel(dt), ExportOptions{Target: "ethos-u85-256"})
		if got, want := ops(m), []BuiltinOp{OpMaximum, OpDiv}; !reflect.DeepEqual(got, want) {
			t.Fatalf("U85 %s ops %v, want %v", dt, got, want)
		}
		in, step := m.Tensors[m.Operators[0].Inputs[0]], m.Tensors[m.Operators[0].Inputs[1]]
		if !reflect.DeepEqual(step.Quant, in.Quant) || len(step.Data) != dtSize(dt) {
			t.Errorf("U85 %s: MAXIMUM's constant %+v, want one value on the input grid %+v", dt, step.Quant, in.Quant)
		}
	}
	for _, target := range []string{"ethos-u55-128", "ethos-u65-256"} {
		_, err := Export(reciprocalModel(i16).model(), ExportOptions{Target: target})
		if err == nil || !strings.Contains(err.Error(), `node "rec" (Reciprocal): no NPU form in TFLite: a Reciprocal of INT16 activations on `+target) ||
			!strings.Contains(err.Error(), "{rec: int8}") {
			t.Errorf("%s: got %v", target, err)
		}
	}
}

func dtSize(dt onnxpb.TensorProto_DataType) int {
	if dt == i16 {
		return 2
	}
	return 1
}

// An int8 Reciprocal whose input grid reaches below 0 is refused with why.
func TestSignedReciprocalIsRefusedWithReason(t *testing.T) {
	b := newQDQ()
	x := b.input("x", i8, 0.02, 0, 1, 8)
	b.node("Reciprocal", "rec", []string{x}, []string{"r"})
	b.output("r", "y", i8, 0.5, 0)
	_, err := Export(b.model(), ExportOptions{Target: "ethos-u55-128"})
	if err == nil || !strings.Contains(err.Error(), `node "rec" (Reciprocal): no NPU form in TFLite: Reciprocal of an input whose range -2.56..2.54 reaches below 0`) {
		t.Fatalf("got %v", err)
	}
}

func addInt16BroadcastModel() *qdqBuilder {
	b := newQDQ()
	b.opset = 21
	x := b.input("x", i16, 1.0/4096, 0, 1, 16, 64)
	c := b.weight("c", i16, []int64{1, 1, 64}, seq(64, func(i int) int64 { return int64(i * 100) }), []float32{1.0 / 4096}, 0)
	b.node("Add", "add", []string{c, x}, []string{"a"})
	b.output("a", "y", i16, 1.0/4096, 0)
	return b
}

// sqrtModel is a lone Sqrt of x in [0, 5.1] (a magnitude).
func sqrtModel() *qdqBuilder {
	b := newQDQ()
	x := b.input("x", i8, 0.02, -128, 1, 64)
	b.node("Sqrt", "sqrt", []string{x}, []string{"s"})
	b.output("s", "y", i8, 2.26/255, -128)
	return b
}

// sliceBackwardsModel reverses elements 1..8 of the last axis (how reflect
// padding is decomposed: Slice with step -1).
func sliceBackwardsModel() *qdqBuilder {
	b := newQDQ()
	x := b.input("x", i8, 0.05, 0, 1, 2, 10)
	b.init("starts", onnxpb.TensorProto_INT64, []int64{1}, intRaw(onnxpb.TensorProto_INT64, 8))
	b.init("ends", onnxpb.TensorProto_INT64, []int64{1}, intRaw(onnxpb.TensorProto_INT64, 0))
	b.init("axes", onnxpb.TensorProto_INT64, []int64{1}, intRaw(onnxpb.TensorProto_INT64, -1))
	b.init("steps", onnxpb.TensorProto_INT64, []int64{1}, intRaw(onnxpb.TensorProto_INT64, -1))
	b.node("Slice", "rev", []string{x, "starts", "ends", "axes", "steps"}, []string{"r"})
	b.output("r", "y", i8, 0.05, 0)
	return b
}

func negModel() *qdqBuilder { return negModelTo(i8, 0.05, -3) }

// negModelTo is a Neg of x (int8 at 0.05, zero point 3; int16 at 4/32767)
// into an output grid of its own: TFLite's NEG would negate the stored
// integers, right only on a mirrored grid.
func negModelTo(dt onnxpb.TensorProto_DataType, scale float32, zp int64) *qdqBuilder {
	b := newQDQ()
	var x string
	if dt == i16 {
		b.opset = 21
		x = b.input("x", i16, 4.0/32767, 0, 1, 16)
	} else {
		x = b.input("x", i8, 0.05, 3, 1, 16)
	}
	b.node("Neg", "neg", []string{x}, []string{"n"})
	b.output("n", "y", dt, scale, zp)
	return b
}

// hardSwish16Model is an int16 HardSwish after a 1×1 MaxPool (NHWC).
func hardSwish16Model() *qdqBuilder {
	b := newQDQ()
	b.opset = 21
	x := b.input("x", i16, 4.0/32767, 0, 1, 4, 8, 8)
	b.node("MaxPool", "pool", []string{x}, []string{"p"}, attrIs("kernel_shape", 1, 1))
	p := b.qdq("p", i16, 4.0/32767, 0)
	b.node("HardSwish", "hswish", []string{p}, []string{"h"})
	b.output("h", "y", i16, 4.0/32767, 0)
	return b
}

// hardSwish16FlatModel is an int16 HardSwish on [1, 64] (after a
// classifier's FULLY_CONNECTED).
func hardSwish16FlatModel() *qdqBuilder {
	b := newQDQ()
	b.opset = 21
	x := b.input("x", i16, 4.0/32767, 0, 1, 64)
	b.node("HardSwish", "hswish", []string{x}, []string{"h"})
	b.output("h", "y", i16, 4.0/32767, 0)
	return b
}

// hardSigmoidFlatModel is an int8 HardSigmoid on [1, 64].
func hardSigmoidFlatModel() *qdqBuilder {
	b := newQDQ()
	x := b.input("x", i8, 0.04, 0, 1, 64)
	b.node("HardSigmoid", "hsig", []string{x}, []string{"h"}, attrF("alpha", 1.0/6), attrF("beta", 0.5))
	b.output("h", "y", i8, 1.0/255, -128)
	return b
}

// focusModel is YOLOX's Focus: strided Slices of the input and a Concat
// before the first Conv, so the input must be NHWC from the start.
func focusModel() *qdqBuilder {
	b := newQDQ()
	x := b.input("x", i8, 0.05, 0, 1, 2, 8, 8)
	for i, start := range []int64{0, 1} {
		st := fmt.Sprintf("start%d", i)
		b.init(st, onnxpb.TensorProto_INT64, []int64{2}, intRaw(onnxpb.TensorProto_INT64, start, start))
		b.init(fmt.Sprintf("end%d", i), onnxpb.TensorProto_INT64, []int64{2}, intRaw(onnxpb.TensorProto_INT64, 8, 8))
		if i == 0 {
			b.init("axes", onnxpb.TensorProto_INT64, []int64{2}, intRaw(onnxpb.TensorProto_INT64, 2, 3))
			b.init("steps", onnxpb.TensorProto_INT64, []int64{2}, intRaw(onnxpb.TensorProto_INT64, 2, 2))
		}
		b.node("Slice", fmt.Sprintf("slice%d", i), []string{x, st, fmt.Sprintf("end%d", i), "axes", "steps"}, []string{fmt.Sprintf("s%d", i)})
	}
	s0, s1 := b.qdq("s0", i8, 0.05, 0), b.qdq("s1", i8, 0.05, 0)
	b.node("Concat", "cat", []string{s0, s1}, []string{"c"}, attrI("axis", 1))
	c := b.qdq("c", i8, 0.05, 0)
	wv := seq(3*4, func(i int) int64 { return int64(i*5%17) - 8 })
	w := b.weight("w", i8, []int64{3, 4, 1, 1}, wv, []float32{0.02, 0.03, 0.01}, 0)
	b.node("Conv", "conv", []string{c, w}, []string{"o"}, attrIs("kernel_shape", 1, 1))
	b.output("o", "y", i8, 0.05, 0)
	return b
}

func TestFocusInputIsNHWC(t *testing.T) {
	m := mustExport(t, focusModel(), ExportOptions{})
	if got := Layouts(m); got != "NHWC/NHWC" {
		t.Errorf("layouts %q, want NHWC/NHWC", got)
	}
	for _, op := range ops(m) {
		if op == OpTranspose {
			t.Errorf("a TRANSPOSE is left: %v", ops(m))
		}
	}
}

// reflectPadModel pads the last axis of [1, 1, 16] by 3 and 2, reflecting
// (Silero's STFT input on Ethos-U85, where the quantizer keeps the Pad).
func reflectPadModel() *qdqBuilder {
	b := newQDQ()
	x := b.input("x", i8, 0.05, 0, 1, 1, 16)
	b.init("pads", onnxpb.TensorProto_INT64, []int64{6}, intRaw(onnxpb.TensorProto_INT64, 0, 0, 3, 0, 0, 2))
	b.node("Pad", "pad", []string{x, "pads"}, []string{"p"}, &onnxpb.AttributeProto{Name: proto.String("mode"), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte("reflect")})
	b.output("p", "y", i8, 0.05, 0)
	return b
}

// yoloxHeadModel is a detection head the way YOLOX writes it: two NCHW
// feature maps ([1, 5, 8, 8] from a 1×1 Conv and [1, 5, 4, 4] after a
// MaxPool) reshaped to [1, 5, H·W], concatenated along the merged axis,
// a per-channel constant added, a Slice along the merged axis, and a
// Transpose to [1, N, 5] (when transpose is set; else the output is the
// channels-last [1, 5, N]). In channels-last form every step is a copy or
// an axis remap and the Transpose is nothing.
func yoloxHeadModel(transpose bool) *qdqBuilder {
	b := newQDQ()
	x := b.input("x", i8, 0.05, 0, 1, 4, 8, 8)
	wv := seq(5*4, func(i int) int64 { return int64(i*7%23) - 11 })
	w := b.weight("w", i8, []int64{5, 4, 1, 1}, wv, []float32{0.02, 0.03, 0.01, 0.025, 0.015}, 0)
	b.node("Conv", "conv", []string{x, w}, []string{"c"}, attrIs("kernel_shape", 1, 1))
	c := b.qdq("c", i8, 0.06, -2)
	b.node("MaxPool", "pool", []string{c}, []string{"p"}, attrIs("kernel_shape", 2, 2), attrIs("strides", 2, 2))
	p := b.qdq("p", i8, 0.06, -2)
	b.init("shape0", onnxpb.TensorProto_INT64, []int64{3}, intRaw(onnxpb.TensorProto_INT64, 1, 5, -1))
	b.init("shape1", onnxpb.TensorProto_INT64, []int64{3}, intRaw(onnxpb.TensorProto_INT64, 1, 5, 16))
	b.node("Reshape", "flat0", []string{c, "shape0"}, []string{"r0"})
	r0 := b.qdq("r0", i8, 0.06, -2)
	b.node("Reshape", "flat1", []string{p, "shape1"}, []string{"r1"})
	r1 := b.qdq("r1", i8, 0.06, -2)
	b.node("Concat", "cat", []string{r0, r1}, []string{"cat"}, attrI("axis", 2))
	cat := b.qdq("cat", i8, 0.06, -2)
	k := b.weight("k", i8, []int64{1, 5, 1}, []int64{10, -20, 30, -40, 50}, []float32{0.02}, 0)
	b.node("Add", "add", []string{cat, k}, []string{"a"})
	a := b.qdq("a", i8, 0.08, 0)
	b.init("starts", onnxpb.TensorProto_INT64, []int64{1}, intRaw(onnxpb.TensorProto_INT64, 4))
	b.init("ends", onnxpb.TensorProto_INT64, []int64{1}, intRaw(onnxpb.TensorProto_INT64, 76))
	b.init("axes", onnxpb.TensorProto_INT64, []int64{1}, intRaw(onnxpb.TensorProto_INT64, -1))
	b.node("Slice", "slice", []string{a, "starts", "ends", "axes"}, []string{"s"})
	if !transpose {
		b.output("s", "y", i8, 0.08, 0)
		return b
	}
	s := b.qdq("s", i8, 0.08, 0)
	b.node("Transpose", "tr", []string{s}, []string{"t"}, attrIs("perm", 0, 2, 1))
	b.output("t", "y", i8, 0.08, 0)
	return b
}

// The head keeps channels-last from the Conv to the output: no TRANSPOSE,
// the rank-3 tensors are [1, H·W, C], the Concat and Slice act on TFLite
// axis 1, and the output is [1, N, 5] in ONNX order.
func TestYOLOXHeadStaysChannelsLast(t *testing.T) {
	m := mustExport(t, yoloxHeadModel(true), ExportOptions{})
	want := []BuiltinOp{OpConv2D, OpMaxPool2D, OpReshape, OpReshape, OpConcatenation, OpAdd, OpSlice, OpReshape}
	if got := ops(m); !reflect.DeepEqual(got, want) {
		t.Fatalf("ops %v, want %v", got, want)
	}
	for _, o := range m.Operators {
		switch o.Op {
		case OpReshape:
			if s := m.Tensors[o.Outputs[0]].Shape; len(s) == 3 && s[2] != 5 {
				t.Errorf("reshaped to %v, want [1, H·W, 5]", s)
			}
		case OpConcatenation:
			if got := m.Tensors[o.Outputs[0]].Shape; !reflect.DeepEqual(got, []int32{1, 80, 5}) {
				t.Errorf("concatenation shape %v, want [1 80 5]", got)
			}
		case OpAdd:
			if k := m.Tensors[o.Inputs[1]]; !reflect.DeepEqual(k.Shape, []int32{1, 1, 5}) {
				t.Errorf("per-channel constant %v, want [1 1 5]", k.Shape)
			}
		}
	}
	if got := m.Tensors[m.Outputs[0]].Shape; !reflect.DeepEqual(got, []int32{1, 72, 5}) {
		t.Errorf("output %v, want [1 72 5]", got)
	}
	if got := Layouts(m); got != "NHWC/ONNX" {
		t.Errorf("layouts %q, want NHWC/ONNX", got)
	}
	// Without the Transpose the output is the channels-last [1, 72, 5] of
	// ONNX's [1, 5, 72], and the metadata says so.
	m = mustExport(t, yoloxHeadModel(false), ExportOptions{})
	if got := m.Tensors[m.Outputs[0]].Shape; !reflect.DeepEqual(got, []int32{1, 72, 5}) {
		t.Errorf("output %v, want [1 72 5]", got)
	}
	if got := Layouts(m); got != "NHWC/NHWC" {
		t.Errorf("layouts %q, want NHWC/NHWC", got)
	}
}

// A reshape of a channels-first map that moves channels is still refused,
// naming the shapes.
func TestChannelMixingReshapeIsRefused(t *testing.T) {
	b := newQDQ()
	x := b.input("x", i8, 0.05, 0, 1, 4, 2, 2)
	b.node("MaxPool", "pool", []string{x}, []string{"p"}, attrIs("kernel_shape", 1, 1))
	p := b.qdq("p", i8, 0.05, 0)
	b.init("shape", onnxpb.TensorProto_INT64, []int64{3}, intRaw(onnxpb.TensorProto_INT64, 1, 8, 2))
	b.node("Reshape", "mix", []string{p, "shape"}, []string{"r"})
	b.output("r", "y", i8, 0.05, 0)
	_, err := Export(b.model(), ExportOptions{Target: "ethos-u55-128"})
	if err == nil || !strings.Contains(err.Error(), "reshaping channels-first [1 4 2 2] to [1 8 2] would need a layout TRANSPOSE") {
		t.Fatalf("got %v", err)
	}
}

// An activation of lower rank broadcast against a channels-last one would
// line up with the wrong TFLite axes: refused, naming it.
func TestLowerRankBroadcastOnChannelsLastIsRefused(t *testing.T) {
	b := newQDQ()
	x := b.input("x", i8, 0.05, 0, 1, 4, 2, 3)
	z := b.input("z", i8, 0.05, 0, 2, 3)
	b.node("MaxPool", "pool", []string{x}, []string{"p"}, attrIs("kernel_shape", 1, 1))
	p := b.qdq("p", i8, 0.05, 0)
	b.node("Add", "add", []string{p, z}, []string{"a"})
	b.output("a", "y", i8, 0.1, 0)
	_, err := Export(b.model(), ExportOptions{Target: "ethos-u55-128"})
	if err == nil || !strings.Contains(err.Error(), "of shape [2 3] broadcast against a channels-last tensor of rank 4") {
		t.Fatalf("got %v", err)
	}
}

// spatialSplitModel merges a map's spatial axes, takes a Softmax over the
// channels of the rank-3 tensor (the innermost TFLite axis), splits the
// merged axis again into another H×W and convolves: every reshape keeps
// channels-last.
func spatialSplitModel() *qdqBuilder {
	b := newQDQ()
	x := b.input("x", i8, 0.05, 0, 1, 4, 8, 8)
	b.node("MaxPool", "pool", []string{x}, []string{"p"}, attrIs("kernel_shape", 1, 1))
	p := b.qdq("p", i8, 0.05, 0)
	b.init("merged", onnxpb.TensorProto_INT64, []int64{3}, intRaw(onnxpb.TensorProto_INT64, 1, 4, 64))
	b.node("Reshape", "merge", []string{p, "merged"}, []string{"m"})
	m := b.qdq("m", i8, 0.05, 0)
	b.node("Softmax", "softmax", []string{m}, []string{"s"}, attrI("axis", 1))
	s := b.qdq("s", i8, 1.0/256, -128)
	b.init("split", onnxpb.TensorProto_INT64, []int64{4}, intRaw(onnxpb.TensorProto_INT64, 1, 4, 4, 16))
	b.node("Reshape", "split", []string{s, "split"}, []string{"r"})
	r := b.qdq("r", i8, 1.0/256, -128)
	wv := seq(3*4, func(i int) int64 { return int64(i*5%17) - 8 })
	w := b.weight("w", i8, []int64{3, 4, 1, 1}, wv, []float32{0.02, 0.03, 0.01}, 0)
	b.node("Conv", "conv", []string{r, w}, []string{"o"}, attrIs("kernel_shape", 1, 1))
	b.output("o", "y", i8, 0.002, 0)
	return b
}

func TestSpatialSplitStaysChannelsLast(t *testing.T) {
	m := mustExport(t, spatialSplitModel(), ExportOptions{})
	want := []BuiltinOp{OpMaxPool2D, OpReshape, OpSoftmax, OpReshape, OpConv2D}
	if got := ops(m); !reflect.DeepEqual(got, want) {
		t.Fatalf("ops %v, want %v", got, want)
	}
	if got := m.Tensors[m.Operators[2].Outputs[0]].Shape; !reflect.DeepEqual(got, []int32{1, 64, 4}) {
		t.Errorf("softmax over %v, want [1 64 4]", got)
	}
	if got := m.Tensors[m.Operators[3].Outputs[0]].Shape; !reflect.DeepEqual(got, []int32{1, 4, 16, 4}) {
		t.Errorf("split to %v, want NHWC [1 4 16 4]", got)
	}
}

// log16Model is an int16 Log of x on a grid reaching 4 into ±ymax.
func log16Model(ymax float32) *qdqBuilder {
	b := newQDQ()
	b.opset = 21
	x := b.input("x", i16, 4.0/32767, 0, 1, 256)
	b.node("Log", "log", []string{x}, []string{"l"})
	b.output("l", "y", i16, ymax/32767, 0)
	return b
}

// sqrt16Model is an int16 Sqrt of x on a grid reaching 4 into [0, 2]
// (int16, or int8 with zero point -128).
func sqrt16Model(out onnxpb.TensorProto_DataType) *qdqBuilder {
	b := newQDQ()
	b.opset = 21
	x := b.input("x", i16, 4.0/32767, 0, 1, 256)
	b.node("Sqrt", "sqrt", []string{x}, []string{"s"})
	if out == i8 {
		b.output("s", "y", i8, 2.0/255, -128)
	} else {
		b.output("s", "y", i16, 2.0/32767, 0)
	}
	return b
}

// rsqrtMixedModel is y = 1/√x with x at int16 and √x and y at int8.
func rsqrtMixedModel() *qdqBuilder {
	b := newQDQ()
	b.opset = 21
	x := b.input("x", i16, 4.0/32767, 0, 1, 256)
	b.node("Sqrt", "sqrt", []string{x}, []string{"s"})
	sq := b.qdq("s", i8, 2.0/255, -128)
	b.node("Reciprocal", "rec", []string{sq}, []string{"r"})
	b.output("r", "y", i8, 5.0/255, -128)
	return b
}

// Every RSQRT an export writes reads and writes one type (Vela refuses
// the model otherwise): an int16 Sqrt input under an int8 Reciprocal is not
// fused into one RSQRT.
func TestRsqrtTypesMatch(t *testing.T) {
	for _, target := range []string{"ethos-u55-128", "ethos-u85-256"} {
		m := mustExport(t, rsqrtMixedModel(), ExportOptions{Target: target})
		rsqrts := 0
		for _, op := range m.Operators {
			if op.Op != OpRsqrt {
				continue
			}
			rsqrts++
			in, out := m.Tensors[op.Inputs[0]], m.Tensors[op.Outputs[0]]
			if in.Type != out.Type {
				t.Errorf("%s: RSQRT reads %v and writes %v", target, in.Type, out.Type)
			}
		}
		if rsqrts == 0 {
			t.Errorf("%s: no RSQRT (the int16 Sqrt is x·RSQRT products): ops %v", target, ops(m))
		}
	}
}

// The int16 Log's structure: five levels of MUL, MAXIMUM, LOG and ADD, then
// the floor for x ≤ 0 (MUL, ADD) and a MINIMUM; each LOG reads [1/8, 1] on
// int16's [0, 1] grid (the MAXIMUM's constant is 4096 of 32767).
func TestLog16Structure(t *testing.T) {
	m := mustExport(t, log16Model(12), ExportOptions{Target: "ethos-u85-256"})
	var want []BuiltinOp
	for k := 0; k < 5; k++ {
		want = append(want, OpMul, OpMaximum, OpLog, OpAdd)
	}
	want = append(want, OpMul, OpAdd, OpMinimum)
	if got := ops(m); !reflect.DeepEqual(got, want) {
		t.Fatalf("ops %v, want %v", got, want)
	}
	for _, o := range m.Operators {
		if o.Op != OpMaximum {
			continue
		}
		c := m.Tensors[o.Inputs[1]]
		if got := int16(uint16(c.Data[0]) | uint16(c.Data[1])<<8); got != 4096 || c.Quant.Scale[0] != float32(1.0/32767) {
			t.Errorf("MAXIMUM constant %d at %v, want 4096 at 1/32767", got, c.Quant.Scale)
		}
	}
	// The int16 Sqrt: the same levels with RSQRT and MUL (√u = u·RSQRT(u)),
	// the factors multiplied, then √T, the floor (a MUL with a fused RELU)
	// and a MINIMUM.
	m = mustExport(t, sqrt16Model(i16), ExportOptions{Target: "ethos-u55-128"})
	want = nil
	for k := 0; k < 5; k++ {
		want = append(want, OpMul, OpMaximum, OpRsqrt, OpMul)
		if k > 0 {
			want = append(want, OpMul)
		}
	}
	want = append(want, OpMul, OpMul, OpMinimum)
	if got := ops(m); !reflect.DeepEqual(got, want) {
		t.Fatalf("sqrt ops %v, want %v", got, want)
	}
	if o := m.Operators[len(m.Operators)-2]; o.Options == nil || o.Options.Ints[0] != int64(ActRelu) {
		t.Errorf("the floor's MUL has options %+v, want a fused RELU", o.Options)
	}
	// An output grid narrower than the partial sums gets a QUANTIZE after.
	m = mustExport(t, log16Model(6), ExportOptions{Target: "ethos-u85-256"})
	if got := ops(m); got[len(got)-1] != OpQuantize {
		t.Errorf("narrow output: ops %v, want a final QUANTIZE", got)
	}
}
