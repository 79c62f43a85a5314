package dataset

import (
	"fmt"
	"io"
	"math"
	"path/filepath"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/onnxdense"
	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// ReadTensorProto reads a serialized ONNX TensorProto (the input_N.pb and
// output_N.pb files of ONNX test data sets) and returns its name and value.
// Decoding is onnxio's, so raw_data, the typed fields and external data
// (relative to the file's folder) all work as they do for initializers;
// FLOAT16 widens to float32 (the ONNX node tests' float16 inputs).
// Calibration samples refuse float16 before they get here (readSampleProto).
func ReadTensorProto(path string) (string, *tensor.Dense, error) {
	return readTensorProto(path, onnxio.Limits{}.WithDefaults(), nil)
}

// readSampleProto is ReadTensorProto for a calibration sample: a float16
// tensor is refused with the same message as a float16 .npy, rather than
// widened silently; the file and the tensor it declares are bounded by
// lim; and the declared dtype and dims are checked against the input
// specOf gives for the tensor's name (when it gives one) before the data
// is decoded.
func readSampleProto(path string, lim onnxio.Limits, specOf func(name string) (InputSpec, bool)) (string, *tensor.Dense, error) {
	return readTensorProto(path, lim, func(tp *onnxpb.TensorProto) error {
		if tp.GetDataType() == int32(onnxpb.TensorProto_FLOAT16) {
			return errFloat16
		}
		spec, ok := specOf(tp.GetName())
		if !ok {
			return nil
		}
		dims := make([]int, len(tp.GetDims()))
		for i, d := range tp.GetDims() {
			if d < 0 || d > math.MaxInt32 {
				return fmt.Errorf("tensor %q declares dimension %d", tp.GetName(), d)
			}
			dims[i] = int(d)
		}
		dt, err := onnxdense.DtypeOf(tp.GetDataType())
		if err != nil {
			return fmt.Errorf("tensor %q (%s): %w", tp.GetName(), onnxio.DataTypeName(tp.GetDataType()), err)
		}
		return spec.checkHeader(dt, dims)
	})
}

// readTensorProto reads a TensorProto file of at most lim's tensor budget,
// runs check (when not nil) on what it declares, and refuses a declared
// shape over the budget, before decoding the data.
func readTensorProto(path string, lim onnxio.Limits, check func(*onnxpb.TensorProto) error) (string, *tensor.Dense, error) {
	b, err := readBounded(path, lim.WithDefaults().MaxTensorBytes)
	if err != nil {
		return "", nil, err
	}
	var tp onnxpb.TensorProto
	if err := proto.Unmarshal(b, &tp); err != nil {
		return "", nil, fmt.Errorf("%s: not a TensorProto: %w", path, err)
	}
	if check != nil {
		if err := check(&tp); err != nil {
			return "", nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	if err := lim.CheckTensor(tp.GetDims(), onnxio.ElemBytes(tp.GetDataType())); err != nil {
		return "", nil, fmt.Errorf("%s: tensor %q: %w", path, tp.GetName(), err)
	}
	d, err := onnxdense.ToDense(&tp, filepath.Dir(path))
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", path, err)
	}
	return tp.GetName(), d, nil
}

// protoSlack is what a TensorProto file may hold beyond its tensor's bytes
// (name, dims, type, framing) and still be read, so that a tensor just
// over the budget is refused by its declared shape, which says more.
const protoSlack = 1 << 20

// readBounded reads a regular file of at most budget+protoSlack bytes.
func readBounded(path string, budget int64) ([]byte, error) {
	f, st, err := onnxio.OpenRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st.Size() > budget+protoSlack {
		return nil, fmt.Errorf("%s: %d bytes, over the --max-tensor-bytes budget of %d", path, st.Size(), budget)
	}
	b := make([]byte, st.Size())
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}
