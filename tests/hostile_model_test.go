package tests

import (
	"math"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// hostileModel is a crafted model: x (float [1,1,4,4]) goes through the
// nodes the case adds and ends in output "y".
type hostileModel struct {
	name  string
	build func(b *graphBuilder)
	// want are fragments the error must hold (the node's name at least).
	want []string
}

func hostileModels() []hostileModel {
	addTo := func(b *graphBuilder, z string) {
		b.node("Add", "add_out", []string{"x", z}, []string{"y"})
	}
	return []hostileModel{
		{"constantofshape_negative", func(b *graphBuilder) {
			b.int64s("shape", 1, -4)
			b.node("ConstantOfShape", "bad_cos", []string{"shape"}, []string{"z"})
			addTo(b, "z")
		}, []string{"bad_cos", "-4"}},
		{"constantofshape_overflow", func(b *graphBuilder) {
			b.int64s("shape", 1<<32, 1<<32, 4)
			b.node("ConstantOfShape", "bad_cos", []string{"shape"}, []string{"z"})
			addTo(b, "z")
		}, []string{"bad_cos", "overflow"}},
		{"constantofshape_bomb", func(b *graphBuilder) {
			b.int64s("shape", 1<<20, 1<<20)
			b.node("ConstantOfShape", "bomb_cos", []string{"shape"}, []string{"z"})
			addTo(b, "z")
		}, []string{"bomb_cos", "1048576", "--max-tensor-bytes"}},
		{"range_inf", func(b *graphBuilder) {
			b.scalarFloat("start", 0).scalarFloat("limit", float32(math.Inf(1))).scalarFloat("delta", 1)
			b.node("Range", "bad_range", []string{"start", "limit", "delta"}, []string{"z"})
			addTo(b, "z")
		}, []string{"bad_range", "finite"}},
		{"range_nan", func(b *graphBuilder) {
			b.scalarFloat("start", 0).scalarFloat("limit", float32(math.NaN())).scalarFloat("delta", 1)
			b.node("Range", "bad_range", []string{"start", "limit", "delta"}, []string{"z"})
			addTo(b, "z")
		}, []string{"bad_range", "finite"}},
		{"range_bomb", func(b *graphBuilder) {
			b.scalarFloat("start", 0).scalarFloat("limit", 1e12).scalarFloat("delta", 1)
			b.node("Range", "bomb_range", []string{"start", "limit", "delta"}, []string{"z"})
			addTo(b, "z")
		}, []string{"bomb_range", "--max-tensor-bytes"}},
		{"conv_stride_zero", func(b *graphBuilder) {
			b.floatTensor("w", []int64{1, 1, 1, 1}, []float32{1})
			b.node("Conv", "bad_conv", []string{"x", "w"}, []string{"y"}).withAttrs(intsAttr("strides", 0, 0))
		}, []string{"bad_conv", "strides"}},
		{"conv_group_zero", func(b *graphBuilder) {
			b.floatTensor("w", []int64{1, 1, 1, 1}, []float32{1})
			b.node("Conv", "bad_conv", []string{"x", "w"}, []string{"y"}).withAttrs(intAttr("group", 0))
		}, []string{"bad_conv", "group"}},
		{"conv_string_strides", func(b *graphBuilder) {
			b.floatTensor("w", []int64{1, 1, 1, 1}, []float32{1})
			b.node("Conv", "bad_conv", []string{"x", "w"}, []string{"y"}).withAttrs(stringAttr("strides", "2"))
		}, []string{"bad_conv", "strides", "STRING"}},
		{"conv_pads_bomb", func(b *graphBuilder) {
			b.floatTensor("w", []int64{1, 1, 1, 1}, []float32{1})
			b.node("Conv", "bomb_conv", []string{"x", "w"}, []string{"y"}).withAttrs(intsAttr("pads", 1<<20, 1<<20, 1<<20, 1<<20))
		}, []string{"bomb_conv", "--max-tensor-bytes"}},
		{"maxpool_stride_zero", func(b *graphBuilder) {
			b.node("MaxPool", "bad_pool", []string{"x"}, []string{"y"}).withAttrs(intsAttr("kernel_shape", 2, 2), intsAttr("strides", 0, 0))
		}, []string{"bad_pool", "strides"}},
		{"expand_bomb", func(b *graphBuilder) {
			b.int64s("shape", 1<<16, 1<<16, 4, 4)
			b.node("Expand", "bomb_expand", []string{"x", "shape"}, []string{"y"})
		}, []string{"bomb_expand", "--max-tensor-bytes"}},
		{"tile_bomb", func(b *graphBuilder) {
			b.int64s("reps", 1<<16, 1<<16, 1, 1)
			b.node("Tile", "bomb_tile", []string{"x", "reps"}, []string{"y"})
		}, []string{"bomb_tile", "--max-tensor-bytes"}},
		{"pad_bomb", func(b *graphBuilder) {
			b.int64s("pads", 0, 0, 1<<17, 1<<17, 0, 0, 1<<17, 1<<17)
			b.node("Pad", "bomb_pad", []string{"x", "pads"}, []string{"y"})
		}, []string{"bomb_pad", "--max-tensor-bytes"}},
		{"resize_bomb", func(b *graphBuilder) {
			b.floats("scales", 1, 1, 1e6, 1e6)
			b.node("Resize", "bomb_resize", []string{"x", "", "scales"}, []string{"y"})
		}, []string{"bomb_resize", "--max-tensor-bytes"}},
		{"roialign_bomb", func(b *graphBuilder) {
			b.floatTensor("rois", []int64{1, 4}, []float32{0, 0, 2, 2})
			b.int64s("bi", 0)
			b.node("RoiAlign", "bomb_roialign", []string{"x", "rois", "bi"}, []string{"y"}).
				withAttrs(intAttr("output_height", 1<<20), intAttr("output_width", 1<<20))
		}, []string{"bomb_roialign", "--max-tensor-bytes"}},
		{"tfidf_bomb", func(b *graphBuilder) {
			b.int64s("tokens", 1, 2, 3)
			b.node("TfIdfVectorizer", "bomb_tfidf", []string{"tokens"}, []string{"z"}).
				withAttrs(intAttr("max_gram_length", 1), intsAttr("ngram_counts", 0), intsAttr("ngram_indexes", 1<<40), intsAttr("pool_int64s", 2))
			addTo(b, "z")
		}, []string{"bomb_tfidf", "--max-tensor-bytes"}},
		{"cast_no_input", func(b *graphBuilder) {
			b.node("Cast", "bare_cast", nil, []string{"z"}).withAttrs(intAttr("to", 1))
			addTo(b, "z")
		}, []string{"bare_cast", "input"}},
		{"reshape_one_input", func(b *graphBuilder) {
			b.floats("c", 1, 2, 3, 4)
			b.node("Reshape", "bare_reshape", []string{"c"}, []string{"z"})
			addTo(b, "z")
		}, []string{"bare_reshape", "input"}},
		{"gather_one_input", func(b *graphBuilder) {
			b.floats("c", 1, 2, 3, 4)
			b.node("Gather", "bare_gather", []string{"c"}, []string{"z"})
			addTo(b, "z")
		}, []string{"bare_gather", "input"}},
		{"expand_one_input", func(b *graphBuilder) {
			b.floats("c", 1, 2, 3, 4)
			b.node("Expand", "bare_expand", []string{"c"}, []string{"z"})
			addTo(b, "z")
		}, []string{"bare_expand", "input"}},
		{"slice_one_input", func(b *graphBuilder) {
			b.floats("c", 1, 2, 3, 4)
			b.node("Slice", "bare_slice", []string{"c"}, []string{"z"})
			addTo(b, "z")
		}, []string{"bare_slice", "input"}},
		{"squeeze_no_input", func(b *graphBuilder) {
			b.node("Squeeze", "bare_squeeze", nil, []string{"z"})
			addTo(b, "z")
		}, []string{"bare_squeeze", "input"}},
		{"unsqueeze_one_input", func(b *graphBuilder) {
			b.floats("c", 1, 2, 3, 4)
			b.node("Unsqueeze", "bare_unsqueeze", []string{"c"}, []string{"z"})
			addTo(b, "z")
		}, []string{"bare_unsqueeze", "input"}},
		{"sum_no_input", func(b *graphBuilder) {
			b.node("Sum", "bare_sum", nil, []string{"z"})
			addTo(b, "z")
		}, []string{"bare_sum", "input"}},
		{"loop_trip_bomb", func(b *graphBuilder) {
			body := newGraph("body")
			body.input("i", 0).input("cond_in", 0).input("acc", 1, 1, 4, 4)
			body.g.Input[0] = tensorInfo("i", onnxpb.TensorProto_INT64)
			body.g.Input[1] = tensorInfo("cond_in", onnxpb.TensorProto_BOOL)
			body.node("Identity", "keep_going", []string{"cond_in"}, []string{"cond_out"})
			body.node("Identity", "carry", []string{"acc"}, []string{"acc_out"})
			body.node("Identity", "scan", []string{"acc"}, []string{"scan_out"})
			body.output("cond_out", onnxpb.TensorProto_BOOL, 0).output("acc_out", onnxpb.TensorProto_FLOAT, 4).output("scan_out", onnxpb.TensorProto_FLOAT, 4)
			b.int64s("trips", 1<<40)
			b.g.Initializer[len(b.g.Initializer)-1].Dims = nil
			b.g.Initializer = append(b.g.Initializer, &onnxpb.TensorProto{Name: proto.String("cond"), DataType: proto.Int32(int32(onnxpb.TensorProto_BOOL)), Int32Data: []int32{1}})
			b.node("Loop", "bomb_loop", []string{"trips", "cond", "x"}, []string{"y", "scanned"}).withAttrs(
				&onnxpb.AttributeProto{Name: proto.String("body"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: body.g})
		}, []string{"bomb_loop", "--max-loop-trips"}},
	}
}

// TestHostileModelsFailCleanly runs check, run and quantize on crafted
// models that crashed or exhausted memory before sizes and node arities were
// checked: each must exit 1 naming the node, without a Go crash, writing
// nothing, under a 4 GiB address-space limit.
func TestHostileModelsFailCleanly(t *testing.T) {
	for _, c := range hostileModels() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			b := newGraph(c.name).input("x", 1, 1, 4, 4)
			c.build(b)
			b.output("y", onnxpb.TensorProto_FLOAT, 4)
			model := b.save(t, dir, "model.onnx")
			sample := filepath.Join(dir, "x.npy")
			if err := dataset.WriteNPY(sample, tensor.New(tensor.WithShape(1, 1, 4, 4), tensor.WithBacking(make([]float32, 16)))); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "out")
			want := append([]string{model}, c.want...)
			// check judges quantized models, so on these float models it
			// may stop at legality; it must still fail without crashing.
			failsSafely(t, dir, 1, []string{model}, "check", model)
			failsSafely(t, dir, 1, want, "run", model, "--input", sample, "-o", out)
			// quantize may refuse the node on legality before a bomb runs;
			// the message must still name it.
			failsSafely(t, dir, 1, want[:2], "quantize", model, "--calib", sample, "-o", out+".onnx", "--report", out+".json")
			// convert only rewrites the graph (it allocates no tensor), so
			// a bomb may convert; a malformed node may not.
			before := snapshot(t, dir)
			r := runBounded(t, "convert", model, "-o", out+".onnx")
			if crashed(r.stderr) {
				t.Errorf("convert crashed:\n%.3000s", r.stderr)
			}
			if r.code != 0 {
				before.unchanged(t, dir)
			}
		})
	}
}
