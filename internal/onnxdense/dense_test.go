package onnxdense_test

import (
	"testing"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/onnxdense"
	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

func TestToDenseUsesTheDocumentedDtypesAndShapes(t *testing.T) {
	for _, c := range []struct {
		test, file string
		dtype      tensor.Dtype
	}{
		{"test_shape", "input_0.pb", tensor.Float32},
		{"test_shape", "output_0.pb", tensor.Int64},
		{"test_cast_FLOAT_to_FLOAT16", "output_0.pb", tensor.Float32},
		{"test_cast_FLOAT_to_DOUBLE", "output_0.pb", tensor.Float64},
		{"test_not_2d", "input_0.pb", tensor.Bool},
		{"test_dequantizelinear", "input_0.pb", tensor.Uint8},
		{"test_bitshift_right_uint16", "input_0.pb", tensor.Uint16},
	} {
		tp := nodeTestTensor(t, c.test, c.file)
		d, err := onnxdense.ToDense(tp, "")
		if err != nil {
			t.Errorf("%s/%s: %v", c.test, c.file, err)
			continue
		}
		if d.Dtype() != c.dtype {
			t.Errorf("%s/%s: dtype %v, want %v", c.test, c.file, d.Dtype(), c.dtype)
		}
		dims := onnxio.TensorShape(tp)
		if len(d.Shape()) != len(dims) {
			t.Errorf("%s/%s: shape %v, dims %v", c.test, c.file, d.Shape(), dims)
			continue
		}
		for i := range dims {
			if int64(d.Shape()[i]) != dims[i] {
				t.Errorf("%s/%s: shape %v, dims %v", c.test, c.file, d.Shape(), dims)
			}
		}
	}
}

func TestToDenseOfScalarHasShapeOfRankZero(t *testing.T) {
	// DequantizeLinear's scale is a scalar FLOAT.
	tp := nodeTestTensor(t, "test_dequantizelinear", "input_1.pb")
	d, err := onnxdense.ToDense(tp, "")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := onnxio.Float32s(tp, "")
	if d.Dims() != 0 || !d.IsScalar() || d.Data().(float32) != want[0] {
		t.Errorf("scalar Dense: shape %v data %v, want () %v", d.Shape(), d.Data(), want[0])
	}
	back, err := onnxdense.FromDense("s", d)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Dims) != 0 {
		t.Errorf("FromDense(scalar) dims %v", back.Dims)
	}
	if got, _ := onnxio.Float32s(back, ""); len(got) != 1 || got[0] != want[0] {
		t.Errorf("FromDense(scalar) = %v", got)
	}
}

func TestFromDenseWritesRawDataAndMaterializesViews(t *testing.T) {
	d := tensor.New(tensor.WithShape(2, 3), tensor.WithBacking([]float32{0, 1, 2, 3, 4, 5}))
	if err := d.T(1, 0); err != nil {
		t.Fatal(err)
	}
	tp, err := onnxdense.FromDense("w", d)
	if err != nil {
		t.Fatal(err)
	}
	if tp.GetName() != "w" || tp.GetDataType() != int32(onnxpb.TensorProto_FLOAT) || len(tp.RawData) != 24 {
		t.Fatalf("FromDense: name %q type %d raw %d bytes", tp.GetName(), tp.GetDataType(), len(tp.RawData))
	}
	got, _ := onnxio.Float32s(tp, "")
	want := []float32{0, 3, 1, 4, 2, 5} // transpose of [[0 1 2] [3 4 5]]
	if len(tp.Dims) != 2 || tp.Dims[0] != 3 || tp.Dims[1] != 2 {
		t.Errorf("dims %v, want [3 2]", tp.Dims)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("data %v, want %v", got, want)
		}
	}
}

func TestDenseRoundTripForEveryMappedType(t *testing.T) {
	for _, backing := range []any{
		[]float32{1.5, -2}, []float64{0.25, 8}, []int8{-128, 127}, []uint8{0, 255},
		[]int16{-300, 2}, []uint16{65535, 0}, []int32{-1 << 31, 5}, []uint32{1 << 31, 1},
		[]int64{-1 << 62, 3}, []uint64{1 << 63, 2}, []bool{true, false}, []string{"a", "bc"},
	} {
		d := tensor.New(tensor.WithShape(2), tensor.WithBacking(backing))
		tp, err := onnxdense.FromDense("x", d)
		if err != nil {
			t.Errorf("%T: %v", backing, err)
			continue
		}
		dt, _ := onnxdense.DataTypeOf(d.Dtype())
		if back, _ := onnxdense.DtypeOf(dt); back != d.Dtype() {
			t.Errorf("%v -> %s -> %v", d.Dtype(), onnxio.DataTypeName(dt), back)
		}
		r, err := onnxdense.ToDense(tp, "")
		if err != nil {
			t.Errorf("%T: %v", backing, err)
			continue
		}
		if r.Dtype() != d.Dtype() || !r.Shape().Eq(d.Shape()) {
			t.Errorf("%T: round trip gave %v %v", backing, r.Dtype(), r.Shape())
		}
		if a, b := r.Data(), d.Data(); !equalSlices(a, b) {
			t.Errorf("%T: round trip %v, want %v", backing, a, b)
		}
	}
}

func equalSlices(a, b any) bool {
	x, y := tensor.New(tensor.WithBacking(a)), tensor.New(tensor.WithBacking(b))
	if x.Len() != y.Len() {
		return false
	}
	for i := 0; i < x.Len(); i++ {
		u, _ := x.At(i)
		v, _ := y.At(i)
		if u != v {
			return false
		}
	}
	return true
}

func TestToDenseKeepsEmptyTensorsAndRefusesUnsupportedOnes(t *testing.T) {
	empty := testmodel.Float32s("empty", []int64{0, 3})
	d, err := onnxdense.ToDense(empty, "")
	if err != nil {
		t.Fatal(err)
	}
	if sh, ok := onnxdense.EmptyShape(d); !ok || len(sh) != 2 || sh[0] != 0 || sh[1] != 3 || d.Dtype() != tensor.Float32 {
		t.Fatalf("ToDense of a [0 3] float tensor: empty %v, shape %v, dtype %v", ok, sh, d.Dtype())
	}
	back, err := onnxdense.FromDense("empty", d)
	if err != nil || len(back.Dims) != 2 || back.Dims[0] != 0 || back.Dims[1] != 3 || back.GetDataType() != empty.GetDataType() || len(back.RawData) != 0 {
		t.Fatalf("FromDense of the empty tensor: %v, %v", back, err)
	}
	undef := &onnxpb.TensorProto{Name: proto.String("u"), DataType: proto.Int32(0), Dims: []int64{1}}
	_, err = onnxdense.ToDense(undef, "")
	wantMention(t, err, `"u"`, "UNDEFINED")
}
