// Package onnxpb holds the Go types of the ONNX protobuf schema, generated
// from onnx.proto in this folder. Do not edit onnx.pb.go by hand.
package onnxpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative onnx.proto
