// Package onnxpb holds the Go types of the ONNX protobuf schema, generated
// from onnxquant/onnx.proto in this folder. Do not edit onnx.pb.go by hand.
package onnxpb

//go:generate protoc --go_out=. --go_opt=module=github.com/onnxquant/onnxquant/onnxio/onnxpb onnxquant/onnx.proto
