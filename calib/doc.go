// Package calib calibrates a lowered model: it runs the module's float
// interpreter over calibration samples (a sample.Source: sample files
// opened by OpenSamples, or tensors an application holds), feeds the
// tensors a quantizer asked about to streaming observers (calib/observe),
// and counts which conditional submodules every sample reached, so that a
// code path no sample took is an error instead of a silent default scale.
//
// Observer memory does not grow with the number of samples, samples are
// read one at a time, and results do not depend on the number of workers:
// observers of different workers are merged exactly.
package calib
