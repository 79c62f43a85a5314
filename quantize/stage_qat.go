package quantize

import (
	"context"
	"fmt"

	"github.com/onnxquant/onnxquant/qpass"
)

const absorbQDQDoc = `Take the QuantizeLinear/DequantizeLinear pairs of a QAT export out of the graph.

Their qparams are kept (trained-qparams) and the float graph underneath is
quantized like any other.`

func absorbQDQ(_ context.Context, s *Session) (err error) {
	s.Fixed, err = qpass.AbsorbQDQ(s.Module)
	return err
}

const trainedQParamsDoc = `Give the points that cover a QAT tensor its trained qparams.

They are checked against the spec the annotator chose (dtype, range,
symmetry) and are not calibrated.`

func keepTrainedQParams(_ context.Context, s *Session) (err error) {
	s.Trained, err = trainedQParams(s.Annotation, s.Fixed)
	return err
}

// trainedQParams gives every point that covers a tensor with QAT qparams
// those qparams, after checking them against the spec the annotator chose
// (the target's dtype, range and symmetry rules). Those points are not
// calibrated.
func trainedQParams(ann *qpass.Annotation, fixed map[string]qpass.FixedQParams) (map[int]qpass.QParams, error) {
	out := map[int]qpass.QParams{}
	if len(fixed) == 0 {
		return out, nil
	}
	for _, p := range ann.Points() {
		if p.Derived() {
			continue
		}
		var first string
		for _, s := range p.Sites {
			v := s.Value.Source()
			fq, ok := fixed[qpass.FixedKey(v.Producer.Graph().Module.Name, v.Name)]
			if !ok {
				continue
			}
			if err := qpass.CheckFixed(fq, p.Spec); err != nil {
				return nil, fmt.Errorf("tensor %q: trained qparams cannot be kept: %w", v.Name, err)
			}
			q := qpass.QParams{Scale: fq.Scale, ZeroPoint: fq.ZeroPoint, Axis: p.Axis}
			if prev, seen := out[p.ID]; seen {
				if !sameQParams(prev, q) {
					return nil, fmt.Errorf("tensors %q and %q must share qparams on Ethos-U but were trained with different ones", first, v.Name)
				}
				continue
			}
			out[p.ID], first = q, v.Name
		}
	}
	return out, nil
}

func sameQParams(a, b qpass.QParams) bool {
	if len(a.Scale) != len(b.Scale) {
		return false
	}
	for i := range a.Scale {
		if a.Scale[i] != b.Scale[i] || a.ZeroPoint[i] != b.ZeroPoint[i] {
			return false
		}
	}
	return true
}
