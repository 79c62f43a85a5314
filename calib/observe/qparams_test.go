package observe

import (
	"errors"
	"math"
	"testing"
)

const eps16 = 1.0 / 65536 // ExecuTorch's int8 config eps, 2^-16

// f32 forces a value through a float32 variable so the expected values
// below are plain IEEE float32 results, not Go constant arithmetic.
func f32(x float32) float32 { return x }

func TestAffineInt8MapsMinusOneToTwo(t *testing.T) {
	// scale = (2 - (-1)) / (127 - (-128)) = 3/255; -1/scale = -85,
	// so zp = -128 - (-85) = -43.
	s, z, err := Affine(-1, 2, -128, 127, eps16)
	if err != nil {
		t.Fatal(err)
	}
	if want := f32(3) / f32(255); s != want || z != -43 {
		t.Fatalf("got (%v, %d), want (%v, -43)", s, z, want)
	}
}

func TestSymmetricDivisorIsHalfTheQuantizedSpan(t *testing.T) {
	cases := []struct {
		name       string
		lo, hi     float32
		qmin, qmax int32
		want       float32
	}{
		// max(|-1|, 2) / ((127 - (-127)) / 2) = 2/127: ExecuTorch int8 weights.
		{"narrow int8", -1, 2, -127, 127, f32(2) / f32(127)},
		// The full int8 range divides by 127.5, not 127.
		{"full int8", -1, 2, -128, 127, f32(2) / f32(127.5)},
		// a16w8 activations: [-32767, 32767], divisor 32767; |min| dominates.
		{"a16w8", -3, 0.5, -32767, 32767, f32(3) / f32(32767)},
	}
	for _, c := range cases {
		s, z, err := Symmetric(c.lo, c.hi, c.qmin, c.qmax, eps16)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if s != c.want || z != 0 {
			t.Errorf("%s: got (%v, %d), want (%v, 0)", c.name, s, z, c.want)
		}
	}
}

func TestScaleIsFlooredAtEps(t *testing.T) {
	s, z, err := Affine(0, 1e-9, -128, 127, eps16)
	if err != nil || s != eps16 || z != -128 {
		t.Fatalf("affine: got (%v, %d, %v), want (2^-16, -128)", s, z, err)
	}
	s, z, err = Symmetric(-1e-9, 1e-9, -127, 127, eps16)
	if err != nil || s != eps16 || z != 0 {
		t.Fatalf("symmetric: got (%v, %d, %v), want (2^-16, 0)", s, z, err)
	}
	// A zero-width range at zero: scale is exactly eps.
	s, _, _ = Affine(0, 0, -128, 127, eps16)
	if s != eps16 {
		t.Fatalf("zero range: scale %v", s)
	}
}

func TestAffineRangeIsWidenedToHoldZero(t *testing.T) {
	// [0.5, 2] becomes [0, 2]: scale 2/255 and zero at qmin.
	s, z, _ := Affine(0.5, 2, -128, 127, eps16)
	if s != f32(2)/f32(255) || z != -128 {
		t.Errorf("positive range: got (%v, %d)", s, z)
	}
	// [-3, -1] becomes [-3, 0]: zero at qmax, -128 - round(-255) = 127.
	s, z, _ = Affine(-3, -1, -128, 127, eps16)
	if s != f32(3)/f32(255) || z != 127 {
		t.Errorf("negative range: got (%v, %d)", s, z)
	}
	// uint8 IO grid [0, 255] on [-1, 2]: 0 - round(-85) = 85.
	_, z, _ = Affine(-1, 2, 0, 255, eps16)
	if z != 85 {
		t.Errorf("uint8: zp %d, want 85", z)
	}
}

func TestAffineZeroPointRoundsHalfToEven(t *testing.T) {
	// Ranges of width 255/16 give scale 1/16 exactly; min/scale is then
	// -2.5 and -3.5, which torch.round takes to -2 and -4.
	s, z, _ := Affine(-0.15625, 15.78125, -128, 127, eps16)
	if s != 0.0625 || z != -126 {
		t.Errorf("-2.5: got (%v, %d), want (0.0625, -126)", s, z)
	}
	s, z, _ = Affine(-0.21875, 15.71875, -128, 127, eps16)
	if s != 0.0625 || z != -124 {
		t.Errorf("-3.5: got (%v, %d), want (0.0625, -124)", s, z)
	}
}

func TestSymmetricUnsignedZeroPointIsMidpoint(t *testing.T) {
	_, z, _ := Symmetric(-1, 1, 0, 255, eps16)
	if z != 127 {
		t.Fatalf("zp %d, want (0+255)//2 = 127", z)
	}
}

func TestQParamsRejectBadInput(t *testing.T) {
	inf := float32(math.Inf(1))
	s, z, err := Affine(inf, -inf, -128, 127, eps16)
	if !errors.Is(err, ErrNoData) || s != 1 || z != 0 {
		t.Errorf("empty: got (%v, %d, %v), want PyTorch's (1, 0) with ErrNoData", s, z, err)
	}
	if _, _, err := Symmetric(float32(math.NaN()), 1, -127, 127, eps16); !errors.Is(err, ErrNonFinite) {
		t.Errorf("NaN: %v", err)
	}
	if _, _, err := Affine(2, 1, -128, 127, eps16); !errors.Is(err, ErrSpec) {
		t.Errorf("min > max: %v", err)
	}
	if _, _, err := Affine(0, 1, 1, 127, eps16); !errors.Is(err, ErrSpec) {
		t.Errorf("qmin > 0: %v", err)
	}
}

func TestPerChannelQParams(t *testing.T) {
	mins := []float32{-2, -0.05, 0}
	maxs := []float32{1, 0.2, 0}
	s, z, err := SymmetricPerChannel(mins, maxs, -127, 127, eps16)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{f32(2) / 127, f32(0.2) / 127, eps16}
	for c := range want {
		if s[c] != want[c] || z[c] != 0 {
			t.Errorf("channel %d: got (%v, %d), want (%v, 0)", c, s[c], z[c], want[c])
		}
	}
	_, z, _ = AffinePerChannel(mins, maxs, -128, 127, eps16)
	// channel 0: scale 3/255, -2/scale = -170 -> -128 + 170 = 42.
	if z[0] != 42 {
		t.Errorf("affine channel 0 zp %d, want 42", z[0])
	}
	if _, _, err := SymmetricPerChannel(mins, maxs[:2], -127, 127, eps16); !errors.Is(err, ErrShape) {
		t.Errorf("length mismatch: %v", err)
	}
}

func TestLevelsMatchDtypeBits(t *testing.T) {
	cases := []struct {
		q    QSpec
		want int
	}{
		{QSpec{QMin: -128, QMax: 127}, 256},
		{QSpec{QMin: -127, QMax: 127}, 256},
		{QSpec{QMin: 0, QMax: 255}, 256},
		{QSpec{QMin: -32767, QMax: 32767}, 65536},
		{QSpec{QMin: -32768, QMax: 32767}, 65536},
	}
	for _, c := range cases {
		if got := c.q.Levels(); got != c.want {
			t.Errorf("%+v: %d levels, want %d", c.q, got, c.want)
		}
	}
}

func TestForObserverUsesTheRightRange(t *testing.T) {
	q := QSpec{QMin: -127, QMax: 127, Symmetric: true, Eps: eps16}
	w, _ := Spec{Kind: KindPerChannelMinMax}.New()
	if err := w.Observe([]float32{1, -2, 0.5, 0.1, 0.2, -0.05}, []int{2, 3}); err != nil {
		t.Fatal(err)
	}
	s, _, err := q.ForObserver(w)
	if err != nil || len(s) != 2 || s[0] != f32(2)/127 || s[1] != f32(0.2)/127 {
		t.Fatalf("per-channel: %v %v", s, err)
	}
	h, _ := New(KindHistogram)
	if _, _, err := q.ForObserver(h); !errors.Is(err, ErrNoData) {
		t.Fatalf("empty histogram: %v", err)
	}
}

func TestForObserverRunsTheHistogramSearchForTheGrid(t *testing.T) {
	const n = 100000
	data := make([]float32, n)
	for i := range data {
		data[i] = (float32(i) + 0.5) / n // evenly over [0, 1)
	}
	h, _ := New(KindHistogram)
	mustObserve(t, h, data)
	// int8 affine: the range stays about [0, 1), so the zero sits at qmin
	// and the scale is about 1/255.
	s, z, err := QSpec{QMin: -128, QMax: 127, Eps: eps16}.ForObserver(h)
	if err != nil || z[0] != -128 || s[0] < 0.99/255 || s[0] > 1.0/255 {
		t.Fatalf("int8: scale %v zp %v err %v", s, z, err)
	}
	// int16 symmetric: 65536 levels, divisor 32767.
	s, z, err = QSpec{QMin: -32767, QMax: 32767, Symmetric: true, Eps: 1.0 / (1 << 24)}.ForObserver(h)
	if err != nil || z[0] != 0 || s[0] < 0.99/32767 || s[0] > 1.0/32767 {
		t.Fatalf("int16: scale %v zp %v err %v", s, z, err)
	}
	// ExecuTorch's a16w8 default eps, 2^-12, is above 1/32767: every
	// range narrower than ±8 gets scale 2^-12.
	s, _, _ = QSpec{QMin: -32767, QMax: 32767, Symmetric: true, Eps: 1.0 / 4096}.ForObserver(h)
	if s[0] != 1.0/4096 {
		t.Fatalf("a16w8 eps: scale %v, want 2^-12", s[0])
	}
	// A MinMax observer maps its exact range: [0.5/n, 1-0.5/n] -> [0, max].
	m, _ := New(KindMinMax)
	mustObserve(t, m, data)
	q := QSpec{QMin: -128, QMax: 127, Eps: eps16}
	s, _, _ = q.ForObserver(m)
	want, _, _ := q.QParams(0, data[n-1])
	if s[0] != want || want != data[n-1]/255 {
		t.Fatalf("minmax scale %v, want %v", s[0], want)
	}
}
