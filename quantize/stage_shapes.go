package quantize

import (
	"context"

	"github.com/onnxquant/onnxquant/calib"
	"github.com/onnxquant/onnxquant/lower"
)

const bindShapesDoc = `Size every tensor from the declared input shapes or the calibration data.

Ethos-U compiles static shapes, and the transform passes (LSTM unrolling,
folding shape arithmetic) need them. A dimension every sample agrees on
becomes fixed; values inference cannot size take the shape every execution
saw (see calib.BindShapes).`

func bindShapes(ctx context.Context, s *Session) (err error) {
	s.Shapes, err = calib.BindShapes(ctx, s.Module, s.Samples, calib.Options{Progress: s.Options.ShapeProgress})
	return err
}

const foldShapeArithmeticDoc = `Fold the shape arithmetic that bound shapes made constant.

Exporters compute reshape targets, pads and If conditions from Shape nodes;
once the inputs are sized they are constants, not work for the NPU.`

func foldShapeArithmetic(_ context.Context, s *Session) error {
	_, err := lower.FoldConstants(s.Module)
	return err
}

const inlineConstantIfsDoc = `Inline the If nodes whose condition became constant.

Exporters write shape checks as If nodes; a branch no input shape can take
is not a code path the calibration data must cover.`

func inlineConstantIfs(_ context.Context, s *Session) error {
	_, err := s.Shapes.InlineConstantIfs(s.Module)
	return err
}

const sizeNewTensorsDoc = `Size the tensors the transform passes made.

Decompositions and opset adapters add values; they get their shapes from
the same bound inputs, and from what the executions saw where inference
cannot tell.`

func sizeNewTensors(_ context.Context, s *Session) error {
	return s.Shapes.Infer(s.Module)
}
