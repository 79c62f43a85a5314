package quantize

import (
	"context"

	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/qpass"
)

const fitBiasDoc = `Fit each bias into its integer range.

A bias's scale is input scale × weight scale; where a bias would overflow
int32 (or the scheme's bias range), the weight scale is widened to fit
(qpass.FitBiasRange).`

func fitBias(_ context.Context, s *Session) error {
	_, err := qpass.FitBiasRange(s.Annotation, s.QParams, s.Module.Root().Dir)
	return err
}

const convertDoc = `Rewrite the float graph into QDQ form.

Activations get QuantizeLinear/DequantizeLinear pairs, weights and biases
become integer initializers read through DequantizeLinear.`

func convert(_ context.Context, s *Session) error {
	return qpass.ConvertToQDQ(s.Module, s.Annotation, s.QParams)
}

const raiseDoc = `Write the lowered graph back as an ONNX model.`

func raise(_ context.Context, s *Session) (err error) {
	s.Model, err = lower.Raise(s.Module)
	return err
}
