// Package sample is the calibration data an application gives the
// quantizer: tensors of its own (a shape and float32 or int64 values, no
// third-party tensor type), sources that hand out samples by index, and
// the error that names a sample that does not fit the model.
//
// Sample files (.npy, .npz, folders of <input>.npy, ONNX test_data_set
// folders) are opened by calib.OpenSamples, which returns a Source too.
// The package is a leaf: it imports nothing of the module, so every layer
// (the readers, the calibrator, the quantizer, the root package) speaks it.
package sample
