package onnxio

import (
	"fmt"
	"slices"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// SparseToDense converts a sparse tensor (a graph's sparse_initializer) to
// the dense tensor it stands for, named after its values. The indices are
// either [NNZ] linearized indices or [NNZ, rank] coordinates, INT64, in
// ascending order without duplicates (ONNX's rule); every element they do
// not name is zero. Everything a hostile file could get wrong is checked
// before the dense tensor is allocated: the dense shape against overflow
// and the tensor budget lim, the values' and indices' shapes against each
// other and the dense shape, and each index against the shape. External
// data of the values or indices is resolved against dir.
func SparseToDense(sp *onnxpb.SparseTensorProto, dir string, lim Limits) (*onnxpb.TensorProto, error) {
	vals, idx := sp.GetValues(), sp.GetIndices()
	if vals == nil || idx == nil {
		return nil, fmt.Errorf("sparse tensor %q: values and indices are both required", vals.GetName())
	}
	name := vals.GetName()
	fail := func(format string, args ...any) error {
		return fmt.Errorf("sparse tensor %q: "+format, append([]any{name}, args...)...)
	}
	dims := sp.GetDims()
	dt := vals.GetDataType()
	bits := elemBits(dt)
	if bits == 0 || bits%8 != 0 {
		return nil, fail("values of type %s are not supported in a sparse tensor", DataTypeName(dt))
	}
	eb := int64(bits / 8)
	numel, err := ElemCount(dims)
	if err != nil {
		return nil, fail("dense shape: %w", err)
	}
	if err := lim.CheckTensor(dims, eb); err != nil {
		return nil, fail("dense shape: %w", err)
	}
	vdims := vals.GetDims()
	if len(vdims) != 1 {
		return nil, fail("values have shape %v; they must be one-dimensional [NNZ]", vdims)
	}
	nnz := vdims[0]
	if nnz < 0 || nnz > numel {
		return nil, fail("%d values for a dense shape %v of %d elements", nnz, dims, numel)
	}
	if idx.GetDataType() != int32(onnxpb.TensorProto_INT64) {
		return nil, fail("indices are %s; they must be INT64", DataTypeName(idx.GetDataType()))
	}
	idims := idx.GetDims()
	rank := int64(len(dims))
	switch {
	case len(idims) == 1 && idims[0] == nnz:
	case len(idims) == 2 && idims[0] == nnz && idims[1] == rank:
	default:
		return nil, fail("indices have shape %v; with %d values and a rank-%d dense shape they must be [%d] (linearized) or [%d, %d] (coordinates)",
			idims, nnz, rank, nnz, nnz, rank)
	}
	if err := lim.CheckTensor(idims, 8); err != nil {
		return nil, fail("indices: %w", err)
	}
	raw, err := rawData(vals, dir)
	if err != nil {
		return nil, fail("values: %w", err)
	}
	iv, err := Values(idx, dir)
	if err != nil {
		return nil, fail("indices: %w", err)
	}
	want := nnz
	if len(idims) == 2 {
		want = nnz * rank
	}
	ind, ok := iv.([]int64)
	if !ok || int64(len(ind)) != want {
		return nil, fail("indices hold %d entries for shape %v", len(ind), idims)
	}
	strides := make([]int64, rank)
	for j, s := rank-1, int64(1); j >= 0; j-- {
		strides[j] = s
		s *= dims[j]
	}
	dense := make([]byte, numel*eb)
	prev := int64(-1)
	for i := range nnz {
		var at int64
		if len(idims) == 1 {
			at = ind[i]
			if at < 0 || at >= numel {
				return nil, fail("index %d of value %d is out of range for the dense shape %v (%d elements)", at, i, dims, numel)
			}
		} else {
			coord := ind[i*rank : (i+1)*rank]
			for j, c := range coord {
				if c < 0 || c >= dims[j] {
					return nil, fail("index %v of value %d is out of range for the dense shape %v", coord, i, dims)
				}
				at += c * strides[j]
			}
		}
		if at <= prev {
			return nil, fail("indices are not in ascending order without duplicates (value %d)", i)
		}
		prev = at
		copy(dense[at*eb:(at+1)*eb], raw[i*eb:(i+1)*eb])
	}
	return &onnxpb.TensorProto{Name: vals.Name, DocString: vals.DocString, DataType: vals.DataType,
		Dims: slices.Clone(dims), RawData: dense}, nil
}

// rawData is a fixed-width tensor's data in raw little-endian layout,
// wherever it is stored (raw_data, external data, the typed fields), after
// checking its length against the tensor's dims.
func rawData(t *onnxpb.TensorProto, dir string) ([]byte, error) {
	n, err := NumElements(t)
	if err != nil {
		return nil, err
	}
	raw, isRaw, err := rawBytes(t, dir)
	if err != nil {
		return nil, err
	}
	if !isRaw {
		if raw, err = typedToRaw(t, n); err != nil {
			return nil, err
		}
	}
	if want := rawSize(t.GetDataType(), n); int64(len(raw)) != want {
		return nil, fmt.Errorf("%d data bytes for %d elements (want %d)", len(raw), n, want)
	}
	return raw, nil
}
