package kernels

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func shapeLen(sh []int) int {
	n := 1
	for _, d := range sh {
		n *= d
	}
	return n
}

// A ConvPlan must reproduce ConvWith bit for bit (ConvWith is checked
// against the ONNX node tests and ONNX Runtime elsewhere), over the GEMM
// path with one and several groups, pointwise, strided/padded, 1-D and 3-D
// inputs, and the depthwise paths it leaves unpacked.
func TestConvPlanMatchesConvWith(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	cases := []struct {
		name   string
		x, w   []int
		p      ConvParams
		bias   bool
		worker []int
	}{
		{"3x3 pad", []int{1, 16, 14, 14}, []int{64, 16, 3, 3}, ConvParams{Window: Window{Pads: []int{1, 1, 1, 1}}}, true, []int{1, 2}},
		{"7x7 stride2 K>kc", []int{2, 3, 40, 40}, []int{30, 3, 7, 7}, ConvParams{Window: Window{Strides: []int{2, 2}, Pads: []int{3, 3, 3, 3}}}, false, []int{1, 3}},
		{"3x3 K over one block", []int{1, 40, 12, 12}, []int{24, 40, 3, 3}, ConvParams{Window: Window{Pads: []int{1, 1, 1, 1}}}, true, []int{1, 2}},
		{"wide output", []int{1, 3, 70, 70}, []int{8, 3, 3, 3}, ConvParams{Window: Window{Pads: []int{1, 1, 1, 1}}}, false, []int{1, 2}},
		{"one output position", []int{2, 16, 3, 3}, []int{20, 16, 3, 3}, ConvParams{}, true, []int{1, 2}},
		{"pointwise", []int{1, 300, 7, 7}, []int{50, 300, 1, 1}, ConvParams{}, true, []int{1, 2}},
		{"grouped", []int{1, 8, 9, 9}, []int{12, 2, 3, 3}, ConvParams{Group: 4}, true, []int{1, 2}},
		{"one output per group", []int{1, 6, 5, 5}, []int{3, 2, 3, 3}, ConvParams{Group: 3}, false, []int{1}},
		{"depthwise", []int{1, 8, 10, 10}, []int{8, 1, 3, 3}, ConvParams{Group: 8, Window: Window{Pads: []int{1, 1, 1, 1}}}, true, []int{1, 2}},
		{"depthwise mult2 5x5", []int{1, 4, 10, 10}, []int{8, 1, 5, 5}, ConvParams{Group: 4}, false, []int{1}},
		{"1-D", []int{2, 5, 50}, []int{20, 5, 4}, ConvParams{Window: Window{Dilations: []int{2}}}, true, []int{1, 2}},
		// The im2col matrix built block by block in packed form (colPacker):
		// strides with and without the phase-reordered input, odd widths,
		// dilation with stride, asymmetric padding, wider than one N block.
		{"1x1 stride2", []int{1, 20, 15, 13}, []int{26, 20, 1, 1}, ConvParams{Window: Window{Strides: []int{2, 2}}}, true, []int{1, 2}},
		{"3x3 stride2 odd", []int{1, 9, 15, 17}, []int{14, 9, 3, 3}, ConvParams{Window: Window{Strides: []int{2, 2}, Pads: []int{1, 0, 0, 1}}}, false, []int{1, 2}},
		{"5x5 stride3 dilation2", []int{1, 4, 31, 29}, []int{13, 4, 5, 5}, ConvParams{Window: Window{Strides: []int{3, 3}, Dilations: []int{2, 2}, Pads: []int{4, 2, 3, 1}}}, true, []int{1, 2}},
		{"3x5 stride 1x2", []int{1, 5, 20, 22}, []int{17, 5, 3, 5}, ConvParams{Window: Window{Strides: []int{1, 2}, Pads: []int{1, 2, 1, 2}}}, false, []int{1, 2}},
		{"2x2 stride2 wide", []int{1, 3, 140, 150}, []int{16, 3, 2, 2}, ConvParams{Window: Window{Strides: []int{2, 2}}}, true, []int{1, 2}},
		{"3-D", []int{1, 3, 6, 8, 8}, []int{16, 3, 3, 3, 3}, ConvParams{}, true, []int{1, 2}},
		{"3-D depth kernel one channel per group", []int{1, 4, 5, 6, 6}, []int{4, 1, 2, 3, 3}, ConvParams{Group: 4}, false, []int{1}},
	}
	for _, c := range cases {
		x := mustF32(t, c.x, randF32(rng, shapeLen(c.x)))
		w := mustF32(t, c.w, randF32(rng, shapeLen(c.w)))
		var b = mustF32(t, []int{c.w[0]}, randF32(rng, c.w[0]))
		if !c.bias {
			b = nil
		}
		cp, err := NewConvPlan(w, c.p)
		if err != nil {
			t.Fatalf("%s: NewConvPlan: %v", c.name, err)
		}
		for _, wk := range c.worker {
			want, err := ConvWith(nil, x, w, b, c.p, wk)
			if err != nil {
				t.Fatalf("%s: ConvWith: %v", c.name, err)
			}
			got, err := cp.ConvWith(nil, x, b, wk)
			if err != nil {
				t.Fatalf("%s: ConvPlan.ConvWith: %v", c.name, err)
			}
			if !slices.Equal(got.Shape(), want.Shape()) {
				t.Fatalf("%s: ConvPlan shape %v, ConvWith %v", c.name, got.Shape(), want.Shape())
			}
			if planUsesWinograd(t, cp, c.x) {
				// Winograd sums in another order: equal to rounding only.
				if e := relativeL2(got.Data().([]float32), want.Data().([]float32)); !(e < 1e-6) {
					t.Errorf("%s workers=%d: Winograd result off by relative L2 %g", c.name, wk, e)
				}
				continue
			}
			if !slices.Equal(got.Data().([]float32), want.Data().([]float32)) {
				t.Errorf("%s workers=%d: ConvPlan result differs from ConvWith", c.name, wk)
			}
		}
	}
}

// A hand-computed 1x1 case through the plan: two output channels of a
// pointwise Conv over two input channels, with bias.
func TestConvPlanHandComputed(t *testing.T) {
	x := mustF32(t, []int{1, 2, 1, 2}, []float32{1, 2, 3, 4}) // channel 0: 1 2; channel 1: 3 4
	w := mustF32(t, []int{2, 2, 1, 1}, []float32{1, 10, -1, 0.5})
	b := mustF32(t, []int{2}, []float32{100, 0})
	cp, err := NewConvPlan(w, ConvParams{})
	if err != nil {
		t.Fatal(err)
	}
	y, err := cp.ConvWith(nil, x, b, 1)
	if err != nil {
		t.Fatal(err)
	}
	// out0 = 100 + 1*x0 + 10*x1 = 131, 142; out1 = -x0 + 0.5*x1 = 0.5, 0.
	want := []float32{131, 142, 0.5, 0}
	if got := y.Data().([]float32); !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestConvPlanRejectsBadWeight(t *testing.T) {
	if _, err := NewConvPlan(mustF32(t, []int{6, 2}, make([]float32, 12)), ConvParams{}); err == nil {
		t.Error("rank-2 weight accepted")
	}
	if _, err := NewConvPlan(mustF32(t, []int{5, 1, 3, 3}, make([]float32, 45)), ConvParams{Group: 2}); err == nil {
		t.Error("5 output channels accepted for 2 groups")
	}
	cp, err := NewConvPlan(mustF32(t, []int{4, 3, 1, 1}, make([]float32, 12)), ConvParams{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cp.ConvWith(nil, mustF32(t, []int{1, 2, 4, 4}, make([]float32, 32)), nil, 1); err == nil {
		t.Error("input with 2 channels accepted for a weight over 3")
	}
}

// planUsesWinograd reports whether cp computes input shape x with Winograd.
func planUsesWinograd(t *testing.T, cp *ConvPlan, x []int) bool {
	t.Helper()
	if cp.wino == nil {
		return false
	}
	g, err := cp.p.Window.resolve("Conv", x[2:], cp.w.Shape()[2:], false)
	if err != nil {
		t.Fatal(err)
	}
	return cp.wino.applies(g)
}
