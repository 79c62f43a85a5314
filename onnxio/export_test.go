package onnxio

// SetMaxProtoSize lowers the 2 GB protobuf limit Save enforces, so tests can
// exercise the automatic switch to external data with small models.
func SetMaxProtoSize(o *SaveOptions, n int64) { o.maxProtoSize = n }
