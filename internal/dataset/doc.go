// Package dataset reads the calibration and evaluation samples the quantizer
// feeds through a model, and checks each one against the model's inputs.
//
// A sample is one of:
//   - a .npy file: the single input of a single-input model;
//   - a .npz archive: one array per model input, named after the input;
//   - a folder holding one <input name>.npy per model input;
//   - an ONNX test_data_set_N folder of input_N.pb TensorProto files.
//
// A folder holding such samples is a data set. Open only lists the samples, so
// memory does not grow with the size of the data set; Load reads and checks one
// sample at a time. Every error names the sample (and the input) it is about,
// because a calibration run over hundreds of files is otherwise impossible to
// debug.
//
// The readers do not know about ONNX graphs: they check samples against
// InputSpec values, which InputSpecs derives from a model's declared inputs.
// Samples held by an application (package sample's Source) become a Set
// with Of; a Set is itself a sample.Source, which is how the public API
// (calib, quantize, ethosu, the root package) takes sample files without
// exposing this package or its gorgonia tensors.
package dataset
