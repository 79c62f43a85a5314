package qpass

import (
	"fmt"

	"github.com/onnxquant/onnxquant/calib/observe"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// QSpec says how one tensor is quantized, as torchao's QuantizationSpec.
type QSpec struct {
	DType      int32 // onnxpb.TensorProto_INT8, _UINT8, _INT16, _INT32
	QMin, QMax int32
	// Symmetric forces zero point 0; otherwise the zero point is computed
	// from the observed range (per_tensor_affine).
	Symmetric bool
	// PerChannel quantizes along the weight's channel axis, chosen per op
	// by the annotator.
	PerChannel bool
	Eps        float32
	// Observer is how the tensor is calibrated.
	Observer observe.Kind
}

// Key identifies specs that quantize identically, so equal specs on the
// two sides of an edge need no requantization.
func (s *QSpec) Key() string {
	if s == nil {
		return "float"
	}
	return fmt.Sprintf("%d[%d,%d]sym=%v pc=%v eps=%g %s", s.DType, s.QMin, s.QMax, s.Symmetric, s.PerChannel, s.Eps, s.Observer)
}

// Config is a quantization configuration: what activations, weights and
// biases of the nodes it is given to become. A nil *Config means "do not
// quantize", which Ethos-U cannot run; the legality check reports such
// nodes.
type Config struct {
	Name string
	// InputActivation and OutputActivation are the specs of the float
	// tensors going into and out of a quantized op.
	InputActivation  *QSpec
	OutputActivation *QSpec
	Weight           *QSpec
	// Bias is derived (int32, scale = input scale × weight scale, zero
	// point 0) whenever Weight is set; BiasQMin/QMax bound it.
	BiasQMin, BiasQMax int32
}

// SymmetricInt8 is ExecuTorch's get_symmetric_quantization_config: int8
// asymmetric activations in [-128, 127] observed by histogram, int8
// symmetric weights in [-127, 127] (per channel by default), eps 2^-16.
// With qat the observers are moving-average ones.
func SymmetricInt8(perChannel, qat bool) *Config {
	act := &QSpec{DType: int32(onnxpb.TensorProto_INT8), QMin: -128, QMax: 127, Eps: 1.0 / 65536, Observer: observe.KindHistogram}
	if qat {
		act.Observer = observe.KindMovingAverageMinMax
	}
	w := int8Weights(perChannel)
	name := "int8"
	if !perChannel {
		name = "int8-per-tensor"
	}
	return &Config{Name: name, InputActivation: act, OutputActivation: act, Weight: w, BiasQMin: -2147483647, BiasQMax: 2147483647}
}

// SymmetricA16W8 is get_symmetric_a16w8_quantization_config: int16
// symmetric activations in [-32767, 32767] with zero point 0 and eps 2^-12;
// weights and bias as SymmetricInt8.
func SymmetricA16W8(perChannel, qat bool) *Config {
	act := &QSpec{DType: int32(onnxpb.TensorProto_INT16), QMin: -32767, QMax: 32767, Symmetric: true, Eps: 1.0 / 4096, Observer: observe.KindHistogram}
	if qat {
		act.Observer = observe.KindMovingAverageMinMax
	}
	return &Config{Name: "a16w8", InputActivation: act, OutputActivation: act, Weight: int8Weights(perChannel), BiasQMin: -2147483647, BiasQMax: 2147483647}
}

// Uint8IO is get_uint8_io_quantization_config, meant for SetIO: uint8
// asymmetric [0, 255] graph inputs and outputs, no weights.
func Uint8IO(qat bool) *Config {
	act := &QSpec{DType: int32(onnxpb.TensorProto_UINT8), QMin: 0, QMax: 255, Eps: 1.0 / 65536, Observer: observe.KindHistogram}
	if qat {
		act.Observer = observe.KindMovingAverageMinMax
	}
	return &Config{Name: "uint8-io", InputActivation: act, OutputActivation: act}
}

func int8Weights(perChannel bool) *QSpec {
	w := &QSpec{DType: int32(onnxpb.TensorProto_INT8), QMin: -127, QMax: 127, Symmetric: true, Eps: 1.0 / 65536, Observer: observe.KindMinMax}
	if perChannel {
		w.PerChannel = true
		w.Observer = observe.KindPerChannelMinMax
	}
	return w
}

// Symmetric reports whether activations of the config have zero point 0,
// which rules out conv+relu fusion (ExecuTorch fuses only asymmetric).
func (c *Config) symmetricActivations() bool {
	return c.OutputActivation != nil && c.OutputActivation.Symmetric
}
