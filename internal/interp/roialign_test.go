package interp_test

import (
	"context"
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/ortoracle"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// RoiAlign in both modes and coordinate conventions, with rois partly
// outside the image and a fixed sampling ratio, against ONNX Runtime (the
// node tests hold only "avg").
func TestRoiAlignModesMatchONNXRuntime(t *testing.T) {
	if !testenv.ORT(t) {
		return
	}
	x := make([]float32, 2*3*6*5)
	for i := range x {
		x[i] = float32((i*37)%23) - 11.5
	}
	rois := []float32{0, 0, 4, 3, 1.5, 0.5, 6.5, 7, -2, -1, 2, 2.5}
	for _, mode := range []string{"avg", "max"} {
		for _, ctm := range []string{"half_pixel", "output_half_pixel"} {
			for _, sr := range []int64{0, 2} {
				t.Run(fmt.Sprintf("%s %s %d", mode, ctm, sr), func(t *testing.T) {
					b := testmodel.New(16).Input("x", 2, 3, 6, 5).Init("rois", []int64{3, 4}, rois...).
						InitInt64("bi", []int64{3}, 0, 1, 1).
						Node("RoiAlign", []string{"x", "rois", "bi"}, []string{"y"}, lower.StringAttr("mode", mode),
							lower.StringAttr("coordinate_transformation_mode", ctm), lower.IntAttr("output_height", 3),
							lower.IntAttr("output_width", 2), lower.IntAttr("sampling_ratio", sr), lower.FloatAttr("spatial_scale", 0.8)).
						Output("y", 3, 3, 3, 2)
					m := b.Model()
					in := map[string]*tensor.Dense{"x": f32(t, []int{2, 3, 6, 5}, x...)}
					gm, err := lower.Lower(proto.Clone(m).(*onnxpb.ModelProto), "")
					if err != nil {
						t.Fatal(err)
					}
					got, err := newInterp(t, gm, 1).Run(context.Background(), in, nil)
					if err != nil {
						t.Fatal(err)
					}
					raw, err := proto.Marshal(m)
					if err != nil {
						t.Fatal(err)
					}
					want, err := ortoracle.RunBytes(raw, in)
					if err != nil {
						t.Fatal(err)
					}
					if e := relL2(t, got["y"], want["y"]); e > 1e-5 {
						t.Errorf("relative L2 error %g against ONNX Runtime:\n got %v\nwant %v", e, got["y"].Data(), want["y"].Data())
					}
				})
			}
		}
	}
}
