package qpass

import (
	"fmt"
	"math"

	"github.com/onnxquant/onnxquant/onnxio"
)

// FitBiasRange raises the scale of weight channels whose int32 bias would
// saturate. A bias is quantized with scale input scale × weight scale, so a
// channel with (nearly) zero weights gets a tiny scale and its bias cannot
// be represented: ONNX Runtime's tool is known for corrupting such biases
// (onnxruntime#21000). A larger scale for weights that are all near zero
// costs nothing, while a clamped bias shifts every output of the channel.
// It reports how many channels it changed.
func FitBiasRange(ann *Annotation, qparams map[int]QParams, dir string) (int, error) {
	changed := 0
	for _, p := range ann.Points() {
		if !p.Derived() || len(p.Sites) == 0 {
			continue
		}
		in, okIn := qparams[p.BiasInput.Root().ID]
		wp := p.BiasWeight.Root()
		w, okW := qparams[wp.ID]
		if !okIn || !okW {
			continue
		}
		site := p.Sites[0]
		b, err := onnxio.Float32s(site.Value.Producer.Initializer, dir)
		if err != nil {
			return changed, fmt.Errorf("bias %q: %w", site.Value.Name, err)
		}
		limit := float64(p.Spec.QMax)
		for c, bv := range b {
			wc := c
			if len(w.Scale) == 1 {
				wc = 0
			}
			need := math.Abs(float64(bv)) / (limit * float64(in.Scale[0]))
			if float64(w.Scale[wc]) >= need {
				continue
			}
			// Keep the bias a few steps inside the range after rounding.
			w.Scale[wc] = float32(need * (1 + 1e-6))
			changed++
		}
		qparams[wp.ID] = w
	}
	return changed, nil
}
