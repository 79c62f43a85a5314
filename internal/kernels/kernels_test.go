package kernels

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"
)

func mustF32(t testing.TB, sh []int, v []float32) *tensor.Dense {
	t.Helper()
	d, err := NewF32(sh, v)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func randF32(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = r.Float32()*2 - 1
	}
	return v
}

func wantF32(t *testing.T, label string, got *tensor.Dense, err error, sh []int, want []float32) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", label, err)
	}
	checkClose(t, label, got, mustF32(t, sh, want))
}

func TestConv3x3WithKnownWeights(t *testing.T) {
	x := mustF32(t, []int{1, 1, 3, 3}, []float32{1, 2, 3, 4, 5, 6, 7, 8, 9})
	w := mustF32(t, []int{1, 1, 3, 3}, []float32{0, 1, 0, 1, -4, 1, 0, 1, 0}) // Laplacian
	b := mustF32(t, []int{1}, []float32{10})
	got, err := Conv(x, w, b, ConvParams{Window: Window{Pads: []int{1, 1, 1, 1}}}, 1)
	// Corner (0,0): -4*1 + 2 + 4 = 2; centre: 2+4+6+8-20 = 0; corner (2,2): -36+6+8 = -22.
	wantF32(t, "laplacian", got, err, []int{1, 1, 3, 3}, []float32{12, 11, 6, 7, 10, 3, -6, -1, -12})
}

func TestDepthwiseConvMatchesGroupedGemmPath(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	x := mustF32(t, []int{1, 4, 7, 6}, randF32(r, 4*7*6))
	w := mustF32(t, []int{4, 1, 3, 3}, randF32(r, 36))
	p := ConvParams{Window: Window{Pads: []int{1, 0, 1, 2}, Strides: []int{2, 1}}, Group: 4}
	got, err := Conv(x, w, nil, p, 2)
	if err != nil {
		t.Fatal(err)
	}
	// Reference: four separate single-channel convolutions.
	xs, ws := Flat(x).([]float32), Flat(w).([]float32)
	gs := Flat(got).([]float32)
	per := len(gs) / 4
	for c := 0; c < 4; c++ {
		xc := mustF32(t, []int{1, 1, 7, 6}, xs[c*42:(c+1)*42])
		wc := mustF32(t, []int{1, 1, 3, 3}, ws[c*9:(c+1)*9])
		ref, err := Conv(xc, wc, nil, ConvParams{Window: p.Window}, 1)
		if err != nil {
			t.Fatal(err)
		}
		checkClose(t, "channel", mustF32(t, Dims(ref), gs[c*per:(c+1)*per]), ref)
	}
}

func TestConvAndMatMulAreBitIdenticalForOneAndTwoWorkers(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	x := mustF32(t, []int{1, 16, 20, 20}, randF32(r, 16*400))
	w := mustF32(t, []int{32, 16, 3, 3}, randF32(r, 32*16*9))
	dw := mustF32(t, []int{16, 1, 3, 3}, randF32(r, 16*9))
	a := mustF32(t, []int{2, 70, 64}, randF32(r, 2*70*64))
	bm := mustF32(t, []int{64, 130}, randF32(r, 64*130))
	tw := mustF32(t, []int{16, 8, 3, 3}, randF32(r, 16*8*9))
	run := func(workers int) [][]float32 {
		c1, err1 := Conv(x, w, nil, ConvParams{Window: Window{Pads: []int{1, 1, 1, 1}}}, workers)
		c2, err2 := Conv(x, dw, nil, ConvParams{Group: 16}, workers)
		m, err3 := MatMul(a, bm, workers)
		ct, err4 := ConvTranspose(x, tw, nil, ConvTransposeParams{Window: Window{Strides: []int{2, 2}}}, workers)
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			t.Fatal(err)
		}
		return [][]float32{Flat(c1).([]float32), Flat(c2).([]float32), Flat(m).([]float32), Flat(ct).([]float32)}
	}
	one, two := run(1), run(2)
	for i := range one {
		for j := range one[i] {
			if math.Float32bits(one[i][j]) != math.Float32bits(two[i][j]) {
				t.Fatalf("result %d element %d: %v with 1 worker, %v with 2", i, j, one[i][j], two[i][j])
			}
		}
	}
}

func TestMaxPoolCeilModeKeepsPartialWindow(t *testing.T) {
	x := mustF32(t, []int{1, 1, 4, 4}, []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	got, err := MaxPool(x, PoolParams{Window: Window{Kernel: []int{3, 3}, Strides: []int{2, 2}}, CeilMode: true})
	// Windows start at 0 and 2 on each axis; the second is cut off by the edge.
	wantF32(t, "ceil", got, err, []int{1, 1, 2, 2}, []float32{11, 12, 15, 16})
	got, err = MaxPool(x, PoolParams{Window: Window{Kernel: []int{3, 3}, Strides: []int{2, 2}}})
	wantF32(t, "floor", got, err, []int{1, 1, 1, 1}, []float32{11})
}

func TestAveragePoolCountIncludePad(t *testing.T) {
	x := mustF32(t, []int{1, 1, 2, 2}, []float32{1, 2, 3, 4})
	p := PoolParams{Window: Window{Kernel: []int{2, 2}, Pads: []int{1, 1, 0, 0}}}
	got, err := AveragePool(x, p)
	wantF32(t, "exclude", got, err, []int{1, 1, 2, 2}, []float32{1, 1.5, 2, 2.5})
	p.CountIncludePad = true
	got, err = AveragePool(x, p)
	wantF32(t, "include", got, err, []int{1, 1, 2, 2}, []float32{0.25, 0.75, 1, 2.5})
}

func TestSoftmaxOfOneTwoThree(t *testing.T) {
	x := mustF32(t, []int{3}, []float32{1, 2, 3})
	got, err := Softmax(x, -1, false)
	// e^k / (e + e² + e³)
	wantF32(t, "softmax", got, err, []int{3}, []float32{0.09003057, 0.24472847, 0.66524096})
	got, err = LogSoftmax(x, -1, false)
	wantF32(t, "logsoftmax", got, err, []int{3}, []float32{-2.40760596, -1.40760596, -0.40760596})
}

func TestSoftmaxCoerce2DNormalizesTrailingBlock(t *testing.T) {
	x := mustF32(t, []int{1, 2, 2}, []float32{0, 0, 0, 0})
	got, err := Softmax(x, 1, true) // opset < 13: one distribution over all 4 values
	wantF32(t, "legacy", got, err, []int{1, 2, 2}, []float32{0.25, 0.25, 0.25, 0.25})
	got, err = Softmax(x, 1, false) // opset 13: per axis 1
	wantF32(t, "per-axis", got, err, []int{1, 2, 2}, []float32{0.5, 0.5, 0.5, 0.5})
}

func TestAddBroadcastsPerChannelAndScalar(t *testing.T) {
	x := mustF32(t, []int{1, 2, 1, 3}, []float32{1, 2, 3, 4, 5, 6})
	c := mustF32(t, []int{2, 1, 1}, []float32{10, 20})
	got, err := Add(x, c)
	wantF32(t, "per-channel", got, err, []int{1, 2, 1, 3}, []float32{11, 12, 13, 24, 25, 26})
	s := mustF32(t, nil, []float32{2})
	got, err = Mul(s, x)
	wantF32(t, "scalar", got, err, []int{1, 2, 1, 3}, []float32{2, 4, 6, 8, 10, 12})
	row := mustF32(t, []int{3}, []float32{1, 0, -1})
	col := mustF32(t, []int{2, 1}, []float32{1, 2})
	got, err = Sub(row, col)
	wantF32(t, "outer", got, err, []int{2, 3}, []float32{0, -1, -2, -1, -2, -3})
}

func TestShapeMismatchIsAShapeError(t *testing.T) {
	a := mustF32(t, []int{2, 3}, make([]float32, 6))
	b := mustF32(t, []int{4}, make([]float32, 4))
	_, err := Add(a, b)
	var se *ShapeError
	if !errors.As(err, &se) || se.Op != "Add" {
		t.Fatalf("got %v, want a ShapeError from Add", err)
	}
	if _, err := MatMul(a, a, 1); !errors.As(err, &se) {
		t.Fatalf("MatMul [2 3]x[2 3]: got %v, want ShapeError", err)
	}
	w := mustF32(t, []int{1, 2, 3, 3}, make([]float32, 18))
	x := mustF32(t, []int{1, 3, 4, 4}, make([]float32, 48))
	if _, err := Conv(x, w, nil, ConvParams{}, 1); !errors.As(err, &se) {
		t.Fatalf("Conv channel mismatch: got %v, want ShapeError", err)
	}
	if _, err := Reshape(a, []int{4, -1}, false); !errors.As(err, &se) {
		t.Fatalf("Reshape 6 into [4 -1]: got %v, want ShapeError", err)
	}
}

func TestQuantizeRoundsHalfToEvenAndSaturates(t *testing.T) {
	x := mustF32(t, []int{6}, []float32{0.5, 1.5, 2.5, -0.5, 300, -300})
	s := mustF32(t, nil, []float32{1})
	zp, _ := New(nil, []int8{0})
	got, err := QuantizeLinear(x, s, zp, 1, tensor.Int8)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := New([]int{6}, []int8{0, 2, 2, 0, 127, -128})
	checkClose(t, "int8", got, want)
	zpu, _ := New(nil, []uint8{128})
	got, err = QuantizeLinear(x, s, zpu, 1, tensor.Dtype{})
	if err != nil {
		t.Fatal(err)
	}
	want, _ = New([]int{6}, []uint8{128, 130, 130, 128, 255, 0})
	checkClose(t, "uint8", got, want)
	bias, _ := New([]int{2}, []int32{-1000, 7})
	bs := mustF32(t, []int{2}, []float32{0.5, 0.25})
	deq, err := DequantizeLinear(bias, bs, nil, 0)
	wantF32(t, "int32 bias per axis", deq, err, []int{2}, []float32{-500, 1.75})
}

func TestMatMulBroadcastsBatchAndPromotesVectors(t *testing.T) {
	a := mustF32(t, []int{2, 1, 2}, []float32{1, 2, 3, 4})
	b := mustF32(t, []int{2, 1}, []float32{10, 1})
	got, err := MatMul(a, b, 1)
	wantF32(t, "batch x 2-D", got, err, []int{2, 1, 1}, []float32{12, 34})
	v := mustF32(t, []int{2}, []float32{1, 1})
	got, err = MatMul(v, mustF32(t, []int{2, 2}, []float32{1, 2, 3, 4}), 1)
	wantF32(t, "vector x matrix", got, err, []int{2}, []float32{4, 6})
}

// TestRangeCountsExactlyAtTheEndsOfInt64: (MaxInt64 - MinInt64) / MaxInt64
// is a little over 2, so Range(MinInt64, MaxInt64, MaxInt64) has three
// elements; a count through float64 gives two.
func TestRangeCountsExactlyAtTheEndsOfInt64(t *testing.T) {
	scalar := func(v int64) *tensor.Dense { return tensor.New(tensor.WithShape(1), tensor.WithBacking([]int64{v})) }
	out, err := Range(scalar(math.MinInt64), scalar(math.MaxInt64), scalar(math.MaxInt64))
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{math.MinInt64, -1, math.MaxInt64 - 1}
	got := out.Data().([]int64)
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("Range = %v, want %v", got, want)
	}
}
