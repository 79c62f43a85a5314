package dataset

import (
	"fmt"
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
	return readTensorProto(path, false)
}

// readSampleProto is ReadTensorProto for a calibration sample: a float16
// tensor is refused with the same message as a float16 .npy, rather than
// widened silently.
func readSampleProto(path string) (string, *tensor.Dense, error) {
	return readTensorProto(path, true)
}

func readTensorProto(path string, refuseFloat16 bool) (string, *tensor.Dense, error) {
	b, err := onnxio.ReadRegular(path, onnxio.Limits{}.WithDefaults().MaxTensorBytes)
	if err != nil {
		return "", nil, err
	}
	var tp onnxpb.TensorProto
	if err := proto.Unmarshal(b, &tp); err != nil {
		return "", nil, fmt.Errorf("%s: not a TensorProto: %w", path, err)
	}
	if refuseFloat16 && tp.GetDataType() == int32(onnxpb.TensorProto_FLOAT16) {
		return "", nil, fmt.Errorf("%s: %w", path, errFloat16)
	}
	d, err := onnxdense.ToDense(&tp, filepath.Dir(path))
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", path, err)
	}
	return tp.GetName(), d, nil
}
