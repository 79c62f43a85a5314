package quantize

import (
	"context"
	"strings"

	"github.com/onnxquant/onnxquant/qpass"
)

// Stage is one step of the quantizer, run over the shared session.
type Stage struct {
	// Name is what --dump-after, --verbose, the report's timings and the
	// ordering rules call it.
	Name string
	// Doc says what the stage does and why; its first line is the
	// summary --verbose prints.
	Doc string
	// When, if set, says whether the stage runs for this session.
	When func(*Session) bool
	// Run does the stage's work, reading and writing the session.
	Run func(ctx context.Context, s *Session) error
}

// Summary is the first line of the stage's documentation.
func (st Stage) Summary() string {
	line, _, _ := strings.Cut(strings.TrimSpace(st.Doc), "\n")
	return line
}

// Stages returns the quantizer, top to bottom: ExecuTorch's PT2E flow
// (transform for annotation, annotate, prepare with observers, calibrate,
// convert) with the steps ONNX adds around it (sizing tensors from the
// data, inlining resolved If nodes) and the target's checks before and
// after. The list is fresh on every call, so callers may edit it.
func Stages() []Stage {
	return []Stage{
		{Name: "absorb-qdq", Doc: absorbQDQDoc, When: isQAT, Run: absorbQDQ},
		{Name: "choose-int16-forms", Doc: chooseInt16FormsDoc, When: choosesForms, Run: chooseInt16Forms},
		{Name: "auto-a16w8", Doc: autoA16W8Doc, When: autoPromotes, Run: autoA16W8},
		{Name: "bind-shapes", Doc: bindShapesDoc, Run: bindShapes},
		{Name: "fold-shape-arithmetic", Doc: foldShapeArithmeticDoc, Run: foldShapeArithmetic},
		{Name: "inline-constant-ifs", Doc: inlineConstantIfsDoc, Run: inlineConstantIfs},
		{Name: "smooth-quant", Doc: smoothQuantDoc, When: smoothes, Run: smoothQuant},
		{Name: "transform", Doc: transformDoc, Run: transform},
		{Name: "size-new-tensors", Doc: sizeNewTensorsDoc, Run: sizeNewTensors},
		{Name: "precheck", Doc: precheckDoc, Run: precheck},
		{Name: "annotate", Doc: annotateDoc, Run: annotate},
		{Name: "trained-qparams", Doc: trainedQParamsDoc, When: isQAT, Run: keepTrainedQParams},
		{Name: "plan-observers", Doc: planObserversDoc, Run: planObservers},
		{Name: "calibrate", Doc: calibrateDoc, When: calibratesAll, Run: calibrate},
		{Name: "calibrate-split", Doc: calibrateSplitDoc, When: choosesRanges, Run: calibrateSplit},
		{Name: "choose-ranges", Doc: chooseRangesDoc, When: choosesRanges, Run: chooseRanges},
		{Name: "compute-qparams", Doc: computeQParamsDoc, Run: computeQParams},
		{Name: "tflite-grids", Doc: tfliteGridsDoc, When: usesTFLiteGrids, Run: tfliteGrids},
		{Name: "adaround", Doc: adaRoundDoc, When: adaRounds, Run: adaRound},
		{Name: "correct-bias", Doc: correctBiasDoc, When: correctsBias, Run: correctBias},
		{Name: "fit-bias", Doc: fitBiasDoc, Run: fitBias},
		{Name: "convert", Doc: convertDoc, Run: convert},
		{Name: "check", Doc: checkDoc, Run: check},
		{Name: "raise", Doc: raiseDoc, Run: raise},
	}
}

// stageOrder lists pairs {A, B}: when both stages are in a pipeline, A
// must run before B. Each pair says why.
var stageOrder = [...]qpass.OrderRule{
	{Before: "choose-int16-forms", After: "auto-a16w8", Why: "promotions are judged with the int16 forms the target will use"},
	{Before: "choose-int16-forms", After: "bind-shapes", Why: "trials quantize the float model as the session received it"},
	{Before: "auto-a16w8", After: "bind-shapes", Why: "trials quantize the float model as the session received it, and the promotions must be in the configs before annotation"},
	{Before: "absorb-qdq", After: "bind-shapes", Why: "QAT Q/DQ pairs are removed before the float model is run to size tensors"},
	{Before: "bind-shapes", After: "fold-shape-arithmetic", Why: "Shape nodes fold only once input shapes are bound"},
	{Before: "fold-shape-arithmetic", After: "inline-constant-ifs", Why: "shape checks become constant conditions only once folded"},
	{Before: "inline-constant-ifs", After: "transform", Why: "branches no input shape can take must not be decomposed or annotated"},
	{Before: "inline-constant-ifs", After: "smooth-quant", Why: "only the paths the samples can take are measured"},
	{Before: "smooth-quant", After: "transform", Why: "a LayerNormalization absorbs the scales only before it is decomposed"},
	{Before: "transform", After: "size-new-tensors", Why: "values made by the transform passes have no sizes yet"},
	{Before: "size-new-tensors", After: "precheck", Why: "rank and kernel rules need every shape"},
	{Before: "precheck", After: "annotate", Why: "a model the target can never run fails before the work of calibrating it"},
	{Before: "size-new-tensors", After: "annotate", Why: "the annotator needs dtypes and shapes"},
	{Before: "annotate", After: "trained-qparams", Why: "trained qparams are matched to the annotation's points"},
	{Before: "trained-qparams", After: "plan-observers", Why: "points with trained qparams are not observed"},
	{Before: "plan-observers", After: "calibrate", Why: "calibration runs the observers the plan asks for"},
	{Before: "calibrate", After: "compute-qparams", Why: "qparams come from the observer states"},
	{Before: "plan-observers", After: "calibrate-split", Why: "the split calibration runs the observers the plan asks for"},
	{Before: "calibrate-split", After: "choose-ranges", Why: "rules are fitted on one half's observers and judged on the other's"},
	{Before: "choose-ranges", After: "compute-qparams", Why: "qparams come from the chosen ranges"},
	{Before: "annotate", After: "choose-ranges", Why: "each point's grid (qmin, qmax, symmetry) scores the candidates"},
	{Before: "compute-qparams", After: "fit-bias", Why: "bias scales are input scale × weight scale"},
	{Before: "fit-bias", After: "convert", Why: "conversion writes the fitted qparams"},
	{Before: "compute-qparams", After: "adaround", Why: "weights are rounded on the grids their qparams fix"},
	{Before: "compute-qparams", After: "tflite-grids", Why: "the fixed grids replace the qparams calibration gave"},
	{Before: "tflite-grids", After: "adaround", Why: "layers are fitted against the activation grids the model will use"},
	{Before: "tflite-grids", After: "correct-bias", Why: "the shift is measured on the activation grids the model will use"},
	{Before: "tflite-grids", After: "fit-bias", Why: "bias scales are input scale × weight scale, with the input's final grid"},
	{Before: "adaround", After: "correct-bias", Why: "the shift to correct is that of the rounding finally chosen"},
	{Before: "adaround", After: "fit-bias", Why: "bias scales use the weight scales adaround keeps"},
	{Before: "compute-qparams", After: "correct-bias", Why: "the shift is that of the weights rounded on their final grid"},
	{Before: "correct-bias", After: "fit-bias", Why: "the corrected bias is the one that must fit its integer range"},
	{Before: "convert", After: "check", Why: "the final check judges the QDQ model"},
	{Before: "check", After: "raise", Why: "an illegal model is never written"},
}

func isQAT(s *Session) bool { return s.QAT }
