package onnxpb_test

import (
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// Every other Go ONNX package generates from the upstream onnx.proto, which
// registers file "onnx.proto" with package "onnx". Ours must not take those
// names, or a program importing both panics at start-up.
func TestRegistersBesideAnotherONNXSchema(t *testing.T) {
	desc := (&onnxpb.ModelProto{}).ProtoReflect().Descriptor()
	if got := string(desc.FullName()); got != "onnxquant.onnx.ModelProto" {
		t.Errorf("ModelProto full name %q, want onnxquant.onnx.ModelProto", got)
	}
	if got := desc.ParentFile().Path(); got != "onnxquant/onnx.proto" {
		t.Errorf("registered file %q, want onnxquant/onnx.proto", got)
	}
	// What another package's generated init registers.
	upstream := &descriptorpb.FileDescriptorProto{
		Name:    proto.String("onnx.proto"),
		Package: proto.String("onnx"),
		Syntax:  proto.String("proto2"),
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("ModelProto"),
			Field: []*descriptorpb.FieldDescriptorProto{{
				Name:   proto.String("ir_version"),
				Number: proto.Int32(1),
				Label:  descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
				Type:   descriptorpb.FieldDescriptorProto_TYPE_INT64.Enum(),
			}},
		}},
	}
	fd, err := protodesc.NewFile(upstream, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	if err := protoregistry.GlobalFiles.RegisterFile(fd); err != nil {
		t.Fatalf("registering the upstream onnx.proto next to ours: %v", err)
	}
}
