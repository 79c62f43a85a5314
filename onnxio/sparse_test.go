package onnxio_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

func sparseTensor(dims []int64, vals []float32, idxDims []int64, idx []int64) *onnxpb.SparseTensorProto {
	return &onnxpb.SparseTensorProto{
		Values: &onnxpb.TensorProto{Name: proto.String("w"), Dims: []int64{int64(len(vals))},
			DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), FloatData: vals},
		Indices: &onnxpb.TensorProto{Name: proto.String("w_indices"), Dims: idxDims,
			DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Int64Data: idx},
		Dims: dims,
	}
}

// Both index formats give the dense array written out by hand.
func TestSparseToDenseReadsLinearAndCoordinateIndices(t *testing.T) {
	want := []float32{0, 5, 0, 0, 0, 7}
	for name, sp := range map[string]*onnxpb.SparseTensorProto{
		"linearized":  sparseTensor([]int64{2, 3}, []float32{5, 7}, []int64{2}, []int64{1, 5}),
		"coordinates": sparseTensor([]int64{2, 3}, []float32{5, 7}, []int64{2, 2}, []int64{0, 1, 1, 2}),
	} {
		d, err := onnxio.SparseToDense(sp, "", onnxio.Limits{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if d.GetName() != "w" || !slices.Equal(d.GetDims(), []int64{2, 3}) || d.GetDataType() != int32(onnxpb.TensorProto_FLOAT) {
			t.Errorf("%s: got %q %v type %d, want \"w\" [2 3] FLOAT", name, d.GetName(), d.GetDims(), d.GetDataType())
		}
		got, err := onnxio.Values(d, "")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.([]float32), want) {
			t.Errorf("%s: dense %v, want %v", name, got, want)
		}
	}
}

// Malformed sparse tensors are errors naming the tensor and what is wrong,
// found before the dense tensor is allocated.
func TestSparseToDenseRefusesMalformedTensors(t *testing.T) {
	for _, c := range []struct {
		name  string
		sp    *onnxpb.SparseTensorProto
		limit bool // a budget or overflow refusal (onnxio.ErrLimit)
		want  string
	}{
		{"linear index out of range", sparseTensor([]int64{2, 3}, []float32{5, 7}, []int64{2}, []int64{1, 6}), false, "index 6 of value 1 is out of range"},
		{"negative index", sparseTensor([]int64{2, 3}, []float32{5}, []int64{1}, []int64{-1}), false, "index -1 of value 0 is out of range"},
		{"coordinate out of range", sparseTensor([]int64{2, 3}, []float32{5, 7}, []int64{2, 2}, []int64{0, 1, 2, 0}), false, "index [2 0] of value 1 is out of range"},
		{"NNZ mismatch", sparseTensor([]int64{2, 3}, []float32{5, 7}, []int64{3}, []int64{0, 1, 2}), false, "indices have shape [3]"},
		{"index entries short of their shape", sparseTensor([]int64{2, 3}, []float32{5, 7}, []int64{2}, []int64{1}), false, "indices"},
		{"more values than elements", sparseTensor([]int64{1, 1}, []float32{5, 7}, []int64{2}, []int64{0, 0}), false, "2 values for a dense shape [1 1]"},
		{"duplicate index", sparseTensor([]int64{2, 3}, []float32{5, 7}, []int64{2}, []int64{3, 3}), false, "ascending order without duplicates"},
		{"huge dense shape", sparseTensor([]int64{1 << 20, 1 << 20, 1 << 10}, []float32{5}, []int64{1}, []int64{0}), true, "--max-tensor-bytes"},
		{"overflowing dense shape", sparseTensor([]int64{1 << 40, 1 << 40}, []float32{5}, []int64{1}, []int64{0}), true, "overflows"},
		{"negative dense dim", sparseTensor([]int64{-2, 3}, []float32{5}, []int64{1}, []int64{0}), true, "negative dimension"},
	} {
		_, err := onnxio.SparseToDense(c.sp, "", onnxio.Limits{})
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if !strings.Contains(err.Error(), `sparse tensor "w"`) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q, want it to name \"w\" and say %q", c.name, err, c.want)
		}
		if errors.Is(err, onnxio.ErrLimit) != c.limit {
			t.Errorf("%s: errors.Is(err, ErrLimit) = %v, want %v", c.name, !c.limit, c.limit)
		}
	}
	// The budget is the caller's.
	sp := sparseTensor([]int64{64, 64}, []float32{5}, []int64{1}, []int64{0})
	if _, err := onnxio.SparseToDense(sp, "", onnxio.Limits{MaxTensorBytes: 1000}); err == nil || !strings.Contains(err.Error(), "budget of 1000") {
		t.Errorf("a 16 KiB dense tensor under a 1000-byte budget: %v", err)
	}
}
