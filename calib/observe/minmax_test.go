package observe

import (
	"errors"
	"math"
	"reflect"
	"testing"
)

func mustNew(t *testing.T, s Spec) Observer {
	t.Helper()
	o, err := s.New()
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func mustObserve(t *testing.T, o Observer, data []float32, shape ...int) {
	t.Helper()
	if shape == nil {
		shape = []int{len(data)}
	}
	if err := o.Observe(data, shape); err != nil {
		t.Fatal(err)
	}
}

func TestMinMaxTracksExtremaAcrossBatches(t *testing.T) {
	o := mustNew(t, Spec{Kind: KindMinMax})
	if lo, hi := o.Range(); !math.IsInf(float64(lo), 1) || !math.IsInf(float64(hi), -1) {
		t.Fatalf("empty range (%v, %v), want (+Inf, -Inf)", lo, hi)
	}
	mustObserve(t, o, []float32{3, -1.5, 2, 0.25})
	mustObserve(t, o, []float32{})
	mustObserve(t, o, []float32{0.5, 4.75}, 1, 2)
	if lo, hi := o.Range(); lo != -1.5 || hi != 4.75 || o.Count() != 6 {
		t.Fatalf("got (%v, %v) over %d values, want (-1.5, 4.75) over 6", lo, hi, o.Count())
	}
}

func TestSignedZerosDoNotDependOnOrder(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	a := mustNew(t, Spec{Kind: KindMinMax})
	b := mustNew(t, Spec{Kind: KindMinMax})
	mustObserve(t, a, []float32{0})
	mustObserve(t, a, []float32{negZero})
	mustObserve(t, b, []float32{negZero})
	mustObserve(t, b, []float32{0})
	if !reflect.DeepEqual(a.State(), b.State()) {
		t.Fatalf("%+v != %+v", a.State(), b.State())
	}
	lo, hi := a.Range()
	if !math.Signbit(float64(lo)) || math.Signbit(float64(hi)) {
		t.Fatalf("range (%v, %v): want min -0 and max +0", lo, hi)
	}
}

func TestEveryObserverRejectsNonFiniteAndKeepsItsState(t *testing.T) {
	for _, s := range []Spec{
		{Kind: KindMinMax}, {Kind: KindMovingAverageMinMax}, {Kind: KindPerChannelMinMax},
		{Kind: KindHistogram}, {Kind: KindPercentile},
	} {
		o := mustNew(t, s)
		mustObserve(t, o, []float32{1, 2, 3, 4}, 2, 2)
		before := o.State()
		for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
			err := o.Observe([]float32{100, -100, bad, 5}, []int{2, 2})
			var nf *NonFiniteError
			if !errors.Is(err, ErrNonFinite) || !errors.As(err, &nf) || nf.Index != 2 {
				t.Errorf("%s: %v: got %v, want ErrNonFinite at index 2", s.Kind, bad, err)
			}
		}
		if !reflect.DeepEqual(before, o.State()) {
			t.Errorf("%s: state changed by a rejected batch", s.Kind)
		}
	}
}

func TestShapeMustDescribeTheData(t *testing.T) {
	o := mustNew(t, Spec{Kind: KindMinMax})
	if err := o.Observe([]float32{1, 2, 3}, []int{2, 2}); !errors.Is(err, ErrShape) {
		t.Fatalf("got %v", err)
	}
	p := mustNew(t, Spec{Kind: KindPerChannelMinMax})
	if err := p.Observe([]float32{1, 2}, nil); !errors.Is(err, ErrShape) {
		t.Fatalf("per-channel without shape: %v", err)
	}
	mustObserve(t, p, []float32{1, 2, 3, 4}, 2, 2)
	if err := p.Observe([]float32{1, 2, 3}, []int{3, 1}); !errors.Is(err, ErrShape) {
		t.Fatalf("channel count change: %v", err)
	}
}

func TestMovingAverageFollowsPyTorchUpdate(t *testing.T) {
	o := mustNew(t, Spec{Kind: KindMovingAverageMinMax})
	if o.Spec().Averaging != 0.01 {
		t.Fatalf("default averaging %v", o.Spec().Averaging)
	}
	mustObserve(t, o, []float32{0, 1, 0.5})
	mustObserve(t, o, []float32{-1, 3})
	// min = 0 + 0.01*(-1 - 0), max = 1 + 0.01*(3 - 1), in float32.
	c := f32(0.01)
	wantLo := f32(0) + c*(f32(-1)-0)
	wantHi := f32(1) + c*(f32(3)-1)
	if lo, hi := o.Range(); lo != wantLo || hi != wantHi || o.Count() != 2 {
		t.Fatalf("got (%v, %v) after %d batches, want (%v, %v)", lo, hi, o.Count(), wantLo, wantHi)
	}
}

func TestMovingAverageMergesOnlyWithAnEmptySide(t *testing.T) {
	a := mustNew(t, Spec{Kind: KindMovingAverageMinMax})
	b := mustNew(t, Spec{Kind: KindMovingAverageMinMax})
	mustObserve(t, b, []float32{-2, 2})
	if err := a.Merge(b); err != nil {
		t.Fatalf("into empty: %v", err)
	}
	if !reflect.DeepEqual(a.State(), b.State()) {
		t.Fatalf("copy differs")
	}
	if err := a.Merge(b); !errors.Is(err, ErrNotMergeable) {
		t.Fatalf("two non-empty: %v", err)
	}
}

func TestMergeRefusesDifferentKindsOrConfigs(t *testing.T) {
	pairs := [][2]Spec{
		{{Kind: KindMinMax}, {Kind: KindHistogram}},
		{{Kind: KindHistogram}, {Kind: KindPercentile}},
		{{Kind: KindHistogram, Bins: 1024}, {Kind: KindHistogram}},
		{{Kind: KindPercentile, Percentile: 99.9}, {Kind: KindPercentile}},
		{{Kind: KindPerChannelMinMax, Axis: 1}, {Kind: KindPerChannelMinMax}},
		{{Kind: KindMovingAverageMinMax, Averaging: 1}, {Kind: KindMovingAverageMinMax}},
	}
	for _, p := range pairs {
		a, b := mustNew(t, p[0]), mustNew(t, p[1])
		if err := a.Merge(b); !errors.Is(err, ErrNotMergeable) {
			t.Errorf("%+v <- %+v: %v", p[0], p[1], err)
		}
	}
	// Irrelevant fields do not make specs differ.
	a := mustNew(t, Spec{Kind: KindMinMax, Axis: 3, Bins: 7})
	if err := a.Merge(mustNew(t, Spec{Kind: KindMinMax})); err != nil {
		t.Errorf("normalised specs should merge: %v", err)
	}
}

func TestPerChannelMinMaxOnAnyAxis(t *testing.T) {
	data := []float32{1, -2, 0.5, 0.1, 0.2, -0.05} // [[1,-2,0.5],[0.1,0.2,-0.05]]
	cases := []struct {
		axis       int
		mins, maxs []float32
	}{
		{0, []float32{-2, -0.05}, []float32{1, 0.2}},
		{1, []float32{0.1, -2, -0.05}, []float32{1, 0.2, 0.5}},
		{-1, []float32{0.1, -2, -0.05}, []float32{1, 0.2, 0.5}},
	}
	for _, c := range cases {
		o := mustNew(t, Spec{Kind: KindPerChannelMinMax, Axis: c.axis})
		mustObserve(t, o, data, 2, 3)
		mins, maxs := o.(PerChannel).ChannelRanges()
		if !reflect.DeepEqual(mins, c.mins) || !reflect.DeepEqual(maxs, c.maxs) {
			t.Errorf("axis %d: got %v %v, want %v %v", c.axis, mins, maxs, c.mins, c.maxs)
		}
	}
	// Middle axis of a rank-3 tensor [2,2,2]: channel = index/2 % 2.
	o := mustNew(t, Spec{Kind: KindPerChannelMinMax, Axis: 1})
	mustObserve(t, o, []float32{0, 1, 10, 11, 2, 3, 12, 13}, 2, 2, 2)
	mins, maxs := o.(PerChannel).ChannelRanges()
	if !reflect.DeepEqual(mins, []float32{0, 10}) || !reflect.DeepEqual(maxs, []float32{3, 13}) {
		t.Errorf("rank 3: %v %v", mins, maxs)
	}
	if lo, hi := o.Range(); lo != 0 || hi != 13 {
		t.Errorf("envelope (%v, %v)", lo, hi)
	}
}

func TestPerChannelMergeEqualsOneRun(t *testing.T) {
	x := []float32{1, -2, 0.5, 0.1, 0.2, -0.05}
	y := []float32{-3, 0, 0, 0.7, 9, -1}
	one := mustNew(t, Spec{Kind: KindPerChannelMinMax})
	mustObserve(t, one, x, 3, 2)
	mustObserve(t, one, y, 3, 2)
	a := mustNew(t, Spec{Kind: KindPerChannelMinMax})
	b := mustNew(t, Spec{Kind: KindPerChannelMinMax})
	mustObserve(t, a, y, 3, 2)
	mustObserve(t, b, x, 3, 2)
	if err := a.Merge(b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.State(), one.State()) {
		t.Fatalf("%+v != %+v", a.State(), one.State())
	}
}

func TestSpecValidationAndDefaults(t *testing.T) {
	bad := []Spec{
		{Kind: "kmeans"},
		{Kind: KindHistogram, Bins: 1},
		{Kind: KindHistogram, Bits: 40},
		{Kind: KindPercentile, Percentile: 120},
		{Kind: KindMovingAverageMinMax, Averaging: 1.5},
	}
	for _, s := range bad {
		if _, err := s.New(); !errors.Is(err, ErrSpec) {
			t.Errorf("%+v: %v", s, err)
		}
	}
	h, err := New(KindHistogram)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Spec{Kind: KindHistogram, Bins: 2048, Bits: 8}); h.Spec() != want {
		t.Errorf("histogram defaults %+v", h.Spec())
	}
	p, _ := New(KindPercentile)
	if p.Spec().Percentile != 99.99 || p.Spec().Bins != 2048 {
		t.Errorf("percentile defaults %+v", p.Spec())
	}
}
