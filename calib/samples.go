package calib

import (
	"github.com/onnxquant/onnxquant/calib/sample"
	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/lower"
)

// OpenSamples lists the calibration samples at paths for gm, fitted to
// its inputs as the quantize command fits them: each path is a sample (a
// .npy or .npz file, a folder of <input>.npy files, an ONNX
// test_data_set_N folder) or a folder of samples taken in name order;
// stacked files are split into batch-1 samples along the batch axis the
// model declares, and samples that give an input different shapes are an
// error (unless gm has conditional paths, which may depend on the size).
// Only the arrays' headers are read here; Sample reads and checks one
// sample, and errors name it with a *sample.Error.
func OpenSamples(gm *lower.GraphModule, paths ...string) (sample.Source, error) {
	opts := dataset.Options{SplitBatches: true, SameShapes: len(gm.Submodules) == 0}
	set, err := dataset.OpenSamples(paths, dataset.InputSpecs(gm), opts)
	if err != nil {
		return nil, err
	}
	return set, nil
}
