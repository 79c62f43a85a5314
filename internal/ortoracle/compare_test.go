//go:build ort

package ortoracle_test

import (
	"fmt"
	"math"
	"reflect"
	"slices"

	"gorgonia.org/tensor"
)

// flat returns d's elements as float64 (for floats) or as the raw slice (for
// exact comparison of integer and bool tensors).
func flat(d *tensor.Dense) any {
	if d.IsScalar() {
		return []any{d.Data()}
	}
	return d.Data()
}

// relL2 is ||got-want|| / ||want|| over float32 or float64 tensors.
func relL2(got, want *tensor.Dense) (float64, error) {
	g, err := floats(got)
	if err != nil {
		return 0, err
	}
	w, err := floats(want)
	if err != nil {
		return 0, err
	}
	if len(g) != len(w) {
		return 0, fmt.Errorf("%d elements, want %d", len(g), len(w))
	}
	var num, den float64
	for i := range g {
		num += (g[i] - w[i]) * (g[i] - w[i])
		den += w[i] * w[i]
	}
	if den == 0 {
		return math.Sqrt(num), nil
	}
	return math.Sqrt(num / den), nil
}

func floats(d *tensor.Dense) ([]float64, error) {
	switch v := flat(d).(type) {
	case []float32:
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
		return out, nil
	case []float64:
		return slices.Clone(v), nil
	case []any:
		switch x := v[0].(type) {
		case float32:
			return []float64{float64(x)}, nil
		case float64:
			return []float64{x}, nil
		}
	}
	return nil, fmt.Errorf("not a float tensor: %v", d.Dtype())
}

// sameTensor compares dtype and shape exactly, float values to the ONNX node
// test tolerance (rtol 1e-3, atol 1e-7) and everything else exactly.
func sameTensor(got, want *tensor.Dense) error {
	if got.Dtype() != want.Dtype() {
		return fmt.Errorf("dtype %v, want %v", got.Dtype(), want.Dtype())
	}
	if !slices.Equal(got.Shape(), want.Shape()) {
		return fmt.Errorf("shape %v, want %v", got.Shape(), want.Shape())
	}
	if g, err := floats(got); err == nil {
		w, _ := floats(want)
		for i := range g {
			if math.Abs(g[i]-w[i]) > 1e-7+1e-3*math.Abs(w[i]) {
				return fmt.Errorf("element %d = %v, want %v", i, g[i], w[i])
			}
		}
		return nil
	}
	if !reflect.DeepEqual(flat(got), flat(want)) {
		return fmt.Errorf("values %v, want %v", flat(got), flat(want))
	}
	return nil
}
